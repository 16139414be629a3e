"""The one way to run: every local entry point (the CLI's ``run``/``up``/``send``,
:func:`flowengine.run`, :func:`flowengine.testing.run_flow`, ``TestRuntime``, the pytest
fixtures and ``test_state``) is a thin layer over the objects here.

* :mod:`.engine`: :class:`Engine`, the bare interpreter with its default Task integrations
  (local handlers, nested executions, callbacks);
* :mod:`.app`: :class:`AppRuntime`, an app on one clock with its resources emulated
  in-process, offline by default;
* :mod:`.commands`, :mod:`.inbox`: ``flowengine up`` / ``send`` / ``run --event``.
"""
