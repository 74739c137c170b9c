"""Web chat: the participant's page and the channel that hands it messages."""
