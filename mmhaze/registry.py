"""mmhaze's registries: one child of every mmengine root registry, scope ``mmhaze``.

``locations`` lists the packages to import the first time a type is looked up, so a config with
``default_scope='mmhaze'`` finds every module without an explicit import.
Blocks, losses, whole models and data preprocessors all register in ``MODELS``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'mmhaze'

_ENGINE = ['mmhaze.engine']


def _child(name: str, parent: Registry, locations: list) -> Registry:
    return Registry(name, parent=parent, scope=SCOPE, locations=locations)


RUNNERS = _child('runner', MMENGINE_RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor', MMENGINE_RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _child('loop', MMENGINE_LOOPS, ['mmhaze.engine'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['mmhaze.engine'])
STRATEGIES = _child('strategy', MMENGINE_STRATEGIES, _ENGINE)

DATASETS = _child('dataset', MMENGINE_DATASETS, ['mmhaze.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, ['mmhaze.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, ['mmhaze.datasets.transforms'])

MODELS = _child('model', MMENGINE_MODELS, ['mmhaze.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, ['mmhaze.models'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             ['mmhaze.models'])

OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, ['mmhaze.engine'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, ['mmhaze.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, ['mmhaze.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, ['mmhaze.engine'])

METRICS = _child('metric', MMENGINE_METRICS, ['mmhaze.evaluation'])
# Metric *functions* (one per key: EN, MI, PSNR_ref, ...), each carrying its description; the
# METRICS wrappers above compute them (see mmhaze.evaluation.functional.metric_registry).
METRIC_FUNCTIONS = Registry('metric function', scope=SCOPE,
                            locations=['mmhaze.evaluation.functional'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, ['mmhaze.evaluation'])

TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['mmhaze.models'])

VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, ['mmhaze.visualization'])
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, ['mmhaze.visualization'])

LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS, ['mmhaze.engine'])
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS, ['mmhaze.apis'])
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, ['mmhaze.datasets', 'mmhaze.models'])



def registered_names(registry: Registry) -> set[str]:
    """Every name ``registry`` and its parents resolve (their lazy locations imported)."""
    names: set[str] = set()
    reg = registry
    while reg is not None:
        reg.import_from_location()
        names.update(reg.module_dict)
        reg = reg.parent
    return names


def unregistered_message(registry: Registry, name: str) -> str:
    """Why ``name`` cannot be built by ``registry``: the registry, a close registered name, and
    the usual cause for a class of one's own (its module was never imported)."""
    from mmhaze.utils.errors import did_you_mean
    short = name.split('.')[-1]
    hint = did_you_mean(short, registered_names(registry), cutoff=0.75)
    return (f'{name!r} is not registered in {registry.scope}::{registry.name}{hint}; if it is a '
            'class of your own, the module that registers it is not imported: add '
            "custom_imports=dict(imports=['your_package.your_module']) to the config")


__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
    'METRIC_FUNCTIONS', 'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS',
    'LOG_PROCESSORS', 'INFERENCERS', 'FUNCTIONS', 'SCOPE', 'registered_names',
    'unregistered_message'
]
