"""Datastores at fsspec URLs: shards published to object storage, read back through fsspec.

    >>> # HDF5Datastore("s3://bucket/trials")      # records, reads, follows, compacts as a folder
    >>> # cogym trials sync trials/ s3://bucket/trials

A recording process spools locally and publishes each shard with an upload and a commit record;
readers list the commit records only. Modules, each importing only those above it::

    store        the layout at the URL: marker, shards, commit records, the maintenance lock
    catalog      the reading side: committed shards, read by ranges or from a checked cache
    spool        a writer's local spool, and publishing what it holds (after a crash too)
    maintenance  compaction and deletion at a URL
    sync         copying shards between a directory and a URL, either way
"""
