"""Datastores at fsspec URLs: shards published to object storage, read back through fsspec."""
