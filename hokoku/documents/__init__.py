"""Document drafts from the incident record: reports to the Commission, publication, notices,
internal reports and the post-incident summary (Japanese by default, English; Markdown, HTML).

``render_draft(kind, data, lang="ja", fmt="md")`` is the entry point; see
:mod:`hokoku.documents.render` for the data it takes and how output is escaped.
"""

from hokoku.documents.markdown import md_escape
from hokoku.documents.render import FORMATS, KINDS, LANGS, render_draft

__all__ = ["FORMATS", "KINDS", "LANGS", "md_escape", "render_draft"]
