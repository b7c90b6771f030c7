"""Mapping files: their schema, loading with line numbers, and lookups."""

from core.mapping.loader import parse_mapping
from core.mapping.schema import CrosswalkSpec, MappingFile, MappingSpec
from core.mapping.tables import Mapping

__all__ = ["CrosswalkSpec", "Mapping", "MappingFile", "MappingSpec", "parse_mapping"]
