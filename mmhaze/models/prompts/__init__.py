"""Registered blocks of this role (see docs/design.md §2)."""
from .prompt_embedding import PromptEmbeddingBlock
from .prompt_generation import PromptGenerationModule, PromptPool

__all__ = ['PromptPool', 'PromptGenerationModule', 'PromptEmbeddingBlock']
