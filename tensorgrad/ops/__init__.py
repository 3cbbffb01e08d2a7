"""The op library: one family per module, each op's forward and VJP side by side."""
from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .movement import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
