"""The datastore's reading side: which files hold which trials, and reading them.

:mod:`~cogym.datastore.read.query` (the index entries and the filter on them),
:mod:`~cogym.datastore.read.catalog` (a directory's shards and journals),
:mod:`~cogym.datastore.read.stored` (one recorded trial) and
:mod:`~cogym.datastore.read.arrays` (one actor's rows across trials, for training). A journal
still being written is read with the writing side's own layout of its groups.
"""
