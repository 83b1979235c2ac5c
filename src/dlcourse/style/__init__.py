"""Neural style transfer (Gatys et al.): what lesson 04 and lesson 03 share.

Taught in lesson 04 (``notebooks/04_style_transfer.ipynb``), where every piece
is first written out step by step; lesson 03 fine-tunes
:func:`efficientnet_lite0`. Quiz 04 does not let its students import any of it
(``quizzes/quiz04_style_transfer/quiz.json``).

======================  =======================================================
module                  what it holds
======================  =======================================================
:mod:`.images`          bundled photographs, :func:`load_image`, :func:`to_image`,
                        :func:`default_size`, :func:`comparison_size`
:mod:`.painting`        :func:`swirl_painting`, the generated style image
:mod:`.losses`          :func:`gram_matrix`, :func:`content_loss`,
                        :func:`style_loss`, :func:`tv_loss`,
                        :func:`balanced_weights`, :func:`softmax_features`
:mod:`.features`        :class:`FeatureNetwork` (a frozen ``nn.Module`` that
                        returns named feature maps), :class:`SequentialTaps`
:mod:`.vgg`             :func:`vgg19_features`: ImageNet weights when cached,
                        random otherwise
:mod:`.efficientnet`    :class:`EfficientNetLite0` with the packaged ImageNet
                        weights, :func:`efficientnet_lite0_features`
:mod:`.networks`        :func:`feature_network` by name, :data:`DEFAULT_NETWORK`
:mod:`.objective`       :class:`StyleObjective`: the weighted losses of an image
:mod:`.optimise`        :func:`stylize`, the loop of lesson 04 section 8
:mod:`.metrics`         :func:`content_similarity`
:mod:`.plots`           :func:`show_images`, :func:`plot_curves`,
                        :func:`lowest_so_far` (drawing; each returns None)
======================  =======================================================

Nothing here downloads anything unless asked to in so many words.
"""

from .efficientnet import (
    EfficientNetLite0,
    efficientnet_lite0,
    efficientnet_lite0_features,
    fuse_batchnorm,
    lite0_layer_names,
)
from .features import FeatureNetwork, SequentialTaps
from .images import (
    GENERATED_IMAGES,
    MATPLOTLIB_IMAGES,
    SKIMAGE_IMAGES,
    comparison_size,
    default_size,
    load_image,
    sample_image,
    to_image,
)
from .losses import (
    balanced_weights,
    content_loss,
    gram_matrix,
    softmax_features,
    style_loss,
    tv_loss,
)
from .metrics import content_similarity
from .networks import DEFAULT_NETWORK, NETWORKS, feature_network
from .objective import StyleObjective
from .optimise import StyleResult, lbfgs, stylize
from .painting import swirl_painting
from .plots import lowest_so_far, plot_curves, show_images
from .vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    vgg19_cached_weights,
    vgg19_features,
    vgg19_layer_names,
)

__all__ = [
    "DEFAULT_NETWORK", "GENERATED_IMAGES", "IMAGENET_MEAN", "IMAGENET_STD", "MATPLOTLIB_IMAGES",
    "NETWORKS", "SKIMAGE_IMAGES", "EfficientNetLite0", "FeatureNetwork", "SequentialTaps",
    "StyleObjective", "StyleResult", "balanced_weights", "comparison_size", "content_loss",
    "content_similarity",
    "default_size", "efficientnet_lite0", "efficientnet_lite0_features", "feature_network",
    "fuse_batchnorm", "gram_matrix", "lbfgs", "lite0_layer_names", "load_image", "lowest_so_far",
    "plot_curves", "sample_image", "show_images", "softmax_features", "style_loss", "stylize",
    "swirl_painting", "to_image", "tv_loss",
    "vgg19_cached_weights", "vgg19_features", "vgg19_layer_names",
]
