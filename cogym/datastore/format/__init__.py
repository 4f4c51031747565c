"""The datastore's format: the files and the values in them.

:mod:`~cogym.datastore.format.spaces` (a space's values as columns),
:mod:`~cogym.datastore.format.tree` (a laid-out tree of arrays),
:mod:`~cogym.datastore.format.record` (a finished trial as columns),
:mod:`~cogym.datastore.format.layout` (a shard's columns),
:mod:`~cogym.datastore.format.shard` (shard files in HDF5) and
:mod:`~cogym.datastore.format.journal` (journal files), each with its format version. Nothing
here imports the writing or the reading side.
"""
