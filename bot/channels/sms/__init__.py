"""SMS through Twilio: the adapter, its webhook routes and delivery status."""
