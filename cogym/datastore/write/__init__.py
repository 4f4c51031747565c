"""The datastore's writing side: each tick of a trial in, journals and shards out.

:mod:`~cogym.datastore.write.recorder` (one trial's ticks in memory),
:mod:`~cogym.datastore.write.plain` (plain one-actor trials as stacked columns, the fast path),
:mod:`~cogym.datastore.write.builder` (trials laid out into a shard's columns) and
:mod:`~cogym.datastore.write.writer` (a process's journal and shards). It imports only
:mod:`cogym.datastore.format`.
"""
