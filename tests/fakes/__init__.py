"""Offline stand-ins for the outside services the data sources talk to, in their real formats."""
