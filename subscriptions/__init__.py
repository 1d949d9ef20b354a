"""Who gets a push, and over what: audiences from matched groups, channel per resident."""
