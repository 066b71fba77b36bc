"""The clause tree: accepts heading candidates whose numbering continues the structure built
so far, then gives each clause its span.
"""

from __future__ import annotations

from ingest.headings import _GAP, _MAJOR_ITEM_STYLES, _RANKS, _Cand, _Node
from rag.documents import Clause


# ----------------------------------------------------------------------------- tree


def _plausible_numeric(p: tuple[int, ...], last: tuple[int, ...] | None) -> bool:
    """``p`` continues ``last``: next sibling at some level (then first children), or a first child."""
    ref = last if last is not None else (0,)
    n = len(ref)
    if len(p) > n and p[:n] == ref and 1 <= p[n] <= _GAP and all(x == 1 for x in p[n + 1 :]):
        return True
    for k in range(len(ref)):
        if len(p) >= k + 1 and p[:k] == ref[:k] and 1 <= p[k] - ref[k] <= _GAP and all(x == 1 for x in p[k + 1 :]):
            return True
    return False


class _TreeBuilder:
    """Accepts candidates whose numbering continues the structure built so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes: list[_Node] = []
        self.stack: list[int] = []
        self._reset_scope()
        self.any_clause = False

    def _reset_scope(self) -> None:
        self.last_numeric: tuple[int, ...] | None = None
        self.last_numeric_anchor: int | None = -2
        self.top_style: str | None = None  # how the last one-number clause was written
        self.last_ranked: dict[str, int] = {}
        self.restart_ok: dict[str, bool] = {}
        self.seen_special: set[str] = set()
        self.scope_has_clause = False

    # -- helpers
    def _push(self, c: _Cand, parent: int | None, label: str, norm: str) -> int:
        level = 0 if parent is None else self.nodes[parent].level + 1
        self.nodes.append(_Node(c, parent, label, norm, level))
        idx = len(self.nodes) - 1
        self.stack.append(idx)
        return idx

    def _pop_to(self, parent: int | None) -> None:
        while self.stack and self.stack[-1] != parent:
            self.stack.pop()

    def _scope_root(self) -> int | None:
        for idx in self.stack:
            if self.nodes[idx].cand.family == "container":
                return idx
        return None

    def _close_specials(self) -> None:
        for pos, idx in enumerate(self.stack):
            if self.nodes[idx].cand.family == "special":
                del self.stack[pos:]
                return

    # -- families
    def add(self, c: _Cand) -> bool:
        f = c.family
        if f == "container":
            return self._container(c)
        if f == "special":
            return self._special(c)
        if f == "ranked":
            return self._ranked(c)
        if f == "numeric":
            return self._numeric(c)
        return self._enum(c)

    def _container(self, c: _Cand) -> bool:
        if not self.any_clause or c.norm in self.seen_special:
            return False
        if c.anchor != "line" and not c.heading:
            return False
        rest = self.text[c.heading_end : c.line_end]
        if len(rest.strip()) > 0 and c.line_end - c.start > 120 and c.anchor == "line" and not c.heading:
            return False
        seen = {self.nodes[i].norm for i in range(len(self.nodes)) if self.nodes[i].cand.family == "container"}
        if c.norm in seen:
            return False
        self.stack.clear()
        self._reset_scope()
        self._push(c, None, c.label, c.norm)
        return True

    def _special(self, c: _Cand) -> bool:
        root = self._scope_root()
        if c.kind == "execution":
            if not self.scope_has_clause or "signatures" in self.seen_special:
                return False
        elif c.kind == "toc":
            pass
        else:
            if self.scope_has_clause or c.norm in self.seen_special:
                return False
        self.seen_special.add(c.norm)
        self._pop_to(root)
        self._push(c, root, c.label, c.norm)
        return True

    def _ranked(self, c: _Cand) -> bool:
        last = self.last_ranked.get(c.kind)
        v = c.value
        ok = (last is None and 1 <= v <= _GAP) or (last is not None and 1 <= v - last <= _GAP)
        ok = ok or (v == 1 and self.restart_ok.get(c.kind, False))
        if not ok:
            return False
        self._close_specials()
        root = self._scope_root()
        while self.stack and self.stack[-1] != root:
            top = self.nodes[self.stack[-1]].cand
            if top.family == "ranked" and top.rank < c.rank:
                break
            self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        self._push(c, parent, c.label, c.norm)
        self.last_ranked[c.kind] = v
        self.restart_ok[c.kind] = False
        for k, r in _RANKS.items():
            if r > c.rank:
                self.restart_ok[k] = True
        self.scope_has_clause = self.any_clause = True
        return True

    def _numeric(self, c: _Cand) -> bool:
        p = c.path
        self._close_specials()
        # deepest open node whose number is a proper prefix of p
        prefix_pos = None
        for pos in range(len(self.stack) - 1, -1, -1):
            n = self.nodes[self.stack[pos]]
            if n.cand.family not in ("numeric", "ranked", "enum"):
                break
            np = n.cand.path
            if n.cand.family != "enum" and np and len(np) < len(p) and p[: len(np)] == np:
                prefix_pos = pos
                break
        # otherwise: the node the current run of numbered clauses hangs from
        i, lowest = len(self.stack) - 1, None
        while i >= 0 and self.nodes[self.stack[i]].cand.family in ("numeric", "enum"):
            if self.nodes[self.stack[i]].cand.family == "numeric":
                lowest = i
            i -= 1
        if lowest is not None:
            run_pos = lowest - 1
        else:  # a new run: it nests in a major item ("一、", "A.") but closes minor ones ("(c)")
            run_pos = len(self.stack) - 1
            while run_pos >= 0 and self.nodes[self.stack[run_pos]].cand.family == "enum":
                if self.nodes[self.stack[run_pos]].cand.interps[0][0] in _MAJOR_ITEM_STYLES:
                    break
                run_pos -= 1
        anchor_idx = self.stack[run_pos] if run_pos >= 0 else None
        ok = _plausible_numeric(p, self.last_numeric)
        if ok and len(p) == 1 and self.top_style is not None and c.style != self.top_style:
            ok = False  # "3." then "4 Widgets Ltd": siblings are written alike
        if not ok and all(x == 1 for x in p) and anchor_idx != self.last_numeric_anchor:
            ok = True  # a fresh run under a new parent
        if not ok and prefix_pos is not None:
            np = self.nodes[self.stack[prefix_pos]].cand.path
            ok = (
                self.nodes[self.stack[prefix_pos]].cand.family == "ranked"
                and 1 <= p[len(np)] <= _GAP
                and all(x == 1 for x in p[len(np) + 1 :])
            )
        if not ok:
            return False
        parent_pos = prefix_pos if prefix_pos is not None else run_pos
        parent = self.stack[parent_pos] if parent_pos >= 0 else None
        self._pop_to(parent)
        self._push(c, parent, c.label, c.norm)
        # the non-numeric node this run of numbered clauses hangs from
        a = parent
        while a is not None and self.nodes[a].cand.family == "numeric":
            a = self.nodes[a].parent
        self.last_numeric = p
        self.last_numeric_anchor = a
        if len(p) == 1:
            self.top_style = c.style
        self.scope_has_clause = self.any_clause = True
        return True

    def _enum(self, c: _Cand) -> bool:
        i = len(self.stack) - 1
        while i >= 0 and self.nodes[self.stack[i]].cand.family == "enum":
            e = self.nodes[self.stack[i]]
            style, val = e.cand.interps[0][0], e.cand.interps[0][1]
            for s, v, tok in c.interps:
                if s == style and 1 <= v - val <= 2:
                    self._pop_to(self.stack[i - 1] if i > 0 else None)
                    if i == 0:
                        self.stack.clear()
                    self._push_enum(c, (s, v, tok))
                    return True
            i -= 1
        chain = {self.nodes[self.stack[j]].cand.interps[0][0] for j in range(i + 1, len(self.stack))}
        for s, v, tok in sorted(c.interps, key=lambda x: "roman" not in x[0]):
            if v == 1 and s not in chain:
                self._push_enum(c, (s, v, tok))
                return True
        return False

    def _push_enum(self, c: _Cand, interp: tuple[str, int, str]) -> None:
        c.interps = (interp,)
        parent = self.stack[-1] if self.stack else None
        tok = interp[2]
        pn = self.nodes[parent] if parent is not None else None
        if pn is not None and pn.cand.family in ("numeric", "ranked", "enum"):
            norm = f"{pn.norm}.{tok}"
            printed = c.label
            if interp[0].startswith("cn"):
                label = pn.label + printed.rstrip("、．.")
            else:
                tok = interp[2] if interp[0].endswith("digit") else printed.strip("().").strip("（）")
                label = f"{pn.label}({tok})"
        else:
            norm = tok
            label = c.label
        self._push(c, parent, label, norm)




def _finish(text: str, nodes: list[_Node], toc_ends: dict[int, int]) -> list[Clause]:
    """Compute spans (a clause ends where the next non-descendant starts) and build Clauses."""
    n = len(nodes)
    ends = [len(text)] * n
    open_: list[int] = []
    for i, node in enumerate(nodes):
        ancestors = set()
        a = node.parent
        while a is not None:
            ancestors.add(a)
            a = nodes[a].parent
        while open_ and open_[-1] not in ancestors:
            ends[open_.pop()] = node.cand.start
        open_.append(i)
    out: list[Clause] = []
    for i, node in enumerate(nodes):
        c = node.cand
        end = ends[i]
        if c.kind == "toc":
            end = min(end, toc_ends[c.start])
        while end > c.start and text[end - 1].isspace():
            end -= 1
        out.append(
            Clause(
                label=node.label,
                norm=node.norm,
                kind=c.kind,
                heading=c.heading,
                start=c.start,
                end=max(end, c.label_end if c.kind != "toc" else end),
                parent=node.parent,
                level=node.level,
            )
        )
    # a parent never ends before its last descendant
    for i in range(n - 1, -1, -1):
        p = out[i].parent
        if p is not None and out[p].end < out[i].end:
            out[p].end = out[i].end
    return out
