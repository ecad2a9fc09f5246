"""mypy plugin: a SQLModel table's field read on the class is a SQLAlchemy column, not a value.

At runtime ``Incident.status`` (on the class) is an ``InstrumentedAttribute``: ``Incident.status ==
"open"`` builds a SQL expression and ``Notification.id.in_(ids)`` exists. SQLModel declares the
fields as plain ``str`` / ``int | None`` for pydantic, so mypy sees ``bool`` and ``int | None`` there
and rejects every query. SQLModel's own answer is to wrap each use in ``col(...)``; this plugin
gives the class attribute the type SQLAlchemy's ``Mapped[]`` declarations would have given it,
``InstrumentedAttribute[T]``, so queries are checked as written (a misspelt column, ``.in_`` on a
value, comparing a column with the wrong type of operand still fail).

Only class access of a field of a ``table=True`` model changes; instance access (``incident.status``)
keeps the field's own type. The plugin is for the type checker only and never ships in the wheel.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import NameExpr, TypeInfo, Var
from mypy.plugin import AttributeContext, ClassDefContext, Plugin
from mypy.types import FunctionLike, Instance, Type, TypeType, get_proper_type

_SQLMODEL = "sqlmodel.main.SQLModel"
_COLUMN = "sqlalchemy.orm.attributes.InstrumentedAttribute"


_TAG = "hokoku-sqlmodel-columns"


def _tag_tables(ctx: ClassDefContext) -> None:
    """Remember ``table=True`` on the class: a cached class keeps its metadata, not its keywords."""
    info = ctx.cls.info
    keyword = ctx.cls.keywords.get("table")
    declared = isinstance(keyword, NameExpr) and keyword.fullname == "builtins.True"
    if declared or any(base.metadata.get(_TAG, {}).get("table") for base in info.mro[1:]):
        info.metadata[_TAG] = {"table": True}


def _is_table(info: TypeInfo) -> bool:
    return bool(info.metadata.get(_TAG, {}).get("table"))


def _accessed_class(ctx: AttributeContext) -> TypeInfo | None:
    """The class the attribute is read from, when it is read from a class (not an instance)."""
    owner = get_proper_type(ctx.type)
    if isinstance(owner, FunctionLike) and owner.is_type_obj():
        return owner.type_object()
    if isinstance(owner, TypeType):
        item = get_proper_type(owner.item)
        return getattr(item, "type", None)
    return None


class SQLModelColumns(Plugin):
    # Called for every class once its MRO is known (pydantic's plugin owns the base-class hook).
    def get_customize_class_mro_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return _tag_tables

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        owner_name, _, attr = fullname.rpartition(".")
        owner = self.lookup_fully_qualified(owner_name)
        if owner is None or not isinstance(owner.node, TypeInfo) or not owner.node.has_base(_SQLMODEL):
            return None
        if owner.node.fullname == _SQLMODEL or attr.startswith("_"):
            return None
        field = owner.node.names.get(attr)
        if field is None or not isinstance(field.node, Var) or field.node.is_classvar:
            return None
        column = self.lookup_fully_qualified(_COLUMN)
        if column is None or not isinstance(column.node, TypeInfo):
            return None  # sqlalchemy not analysed: leave the field's own type
        return _column_type(column.node)


def _column_type(column: TypeInfo) -> Callable[[AttributeContext], Type]:
    def hook(ctx: AttributeContext) -> Type:
        klass = _accessed_class(ctx)
        if ctx.is_lvalue or klass is None or not _is_table(klass):
            return ctx.default_attr_type
        return Instance(column, [ctx.default_attr_type])

    return hook


def plugin(version: str) -> type[Plugin]:
    return SQLModelColumns
