"""Task mocks for tests: ``returns``, ``raises``, ``call``, ``sequence`` and :class:`MockSet`.

The implementation lives with the other Task integrations
(:mod:`flowengine.integrations.mocks`), since every entry point's runtime applies mocks;
this module is where tests import them from.
"""

from flowengine.integrations.mocks import *  # noqa: F403
from flowengine.integrations.mocks import __all__  # noqa: F401
