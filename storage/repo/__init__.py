"""Repository functions: the only code that reads and writes sealed fields (through the vault)."""
