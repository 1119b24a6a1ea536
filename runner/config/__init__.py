"""The config contract: load a zdops YAML file into validated models, with located problems.

load_config(path) -> LoadedConfig        raises ConfigError listing every problem
parse_config(text, filename) -> LoadedConfig
"""

from runner.config.loader import LoadedConfig, load_config, parse_config
from runner.config.models import (
    Actions,
    Comment,
    Condition,
    Config,
    Defaults,
    Rule,
    SopsMetadata,
    TagActions,
    Token,
    When,
    Zendesk,
)

__all__ = [
    "Actions",
    "Comment",
    "Condition",
    "Config",
    "Defaults",
    "LoadedConfig",
    "Rule",
    "SopsMetadata",
    "TagActions",
    "Token",
    "When",
    "Zendesk",
    "load_config",
    "parse_config",
]
