"""Clients of the two source APIs: fetch one time window of records, with nothing lost."""
