"""The local interpreter: runs ASL state machines in-process, on a virtual clock by default.

* :mod:`.runtime`: :class:`~.runtime.Engine` and :func:`~.runtime.run`, the entry points;
* :mod:`.execution`: one execution, the interpreter loop, listeners;
* :mod:`.compiler` and :mod:`.states`: a definition compiled once into linked nodes, one
  module per state type;
* :mod:`.jsonpath`, :mod:`.payload`, :mod:`.intrinsics`, :mod:`.jsonata`: the expression
  languages, parsed at load;
* :mod:`.retry`: Retry/Catch matching and backoff maths;
* :mod:`.clock`, :mod:`.history`, :mod:`.result`, :mod:`.options`: time, events, outcome, limits.

Importing this package imports nothing else, so ``import flowengine`` stays cheap.
"""
