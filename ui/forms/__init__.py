"""Forms generated from pydantic models (DESIGN.md §3.7)."""

from ui.forms.schema_form import ChoicesProvider, NestedModelProvider, SchemaForm, error_text, field_label

__all__ = ["ChoicesProvider", "NestedModelProvider", "SchemaForm", "error_text", "field_label"]
