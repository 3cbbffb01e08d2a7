"""Neural-network building blocks, PyTorch-style: ``tg.nn.Module``, layers, losses, init."""
from .module import *  # noqa: F401,F403
from .containers import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv_transpose import *  # noqa: F401,F403
from .spatial import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .summary import *  # noqa: F401,F403
from . import functional, init, utils  # noqa: F401,E402
from . import parallel  # noqa: F401,E402
from .parallel import SyncBatchNorm  # noqa: F401,E402
from .triplet import TripletMarginLoss, PairwiseDistance  # noqa: F401,E402
