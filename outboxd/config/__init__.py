"""The daemon's configuration: one TOML file, one frozen ``Config`` passed explicitly to whoever needs it.

``load_config(path)`` fails at start with a ConfigError naming the key path; ``default_config(state_dir)`` is the
demo's configuration without a file. Secrets are never values here, only ``*_file`` references that
``outboxd.secrets.read_secret`` opens.
"""

from outboxd.config._load import config_from_dict, default_config, load_config
from outboxd.config._model import (
    BackfillConfig,
    Config,
    DaemonConfig,
    PennylaneConfig,
    RateLimit,
    SecretsConfig,
    ShopConfig,
)

__all__ = [
    "BackfillConfig",
    "Config",
    "DaemonConfig",
    "PennylaneConfig",
    "RateLimit",
    "SecretsConfig",
    "ShopConfig",
    "config_from_dict",
    "default_config",
    "load_config",
]
