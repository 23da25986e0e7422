#!/usr/bin/env python3
"""The public surface of the crate, one item a line, sorted, from rustdoc's JSON output.

Usage: python3 .ci/public_api.py target/doc/tower_api_errors.json

Every public path (modules, structs with their public fields, enums with their variants,
traits with their items, functions, constants, type aliases) and every public method with its
signature, then the trait implementations of the public types (blanket implementations left
out: they follow from the traits). Read by `.ci/public-api.sh`, which compares the listing with
the committed `public-api.txt`. Only the standard library: no tool to install.
"""
import json
import sys

doc = json.load(open(sys.argv[1]))
index = doc["index"]
paths = doc.get("paths", {})
krate = index[str(doc["root"])]["name"]
lines = set()
# Each item's public paths: one is the rule (a type reachable by two paths is documented twice,
# and which one users import is left to chance).
seen = {}


def kind_of(item):
    inner = item["inner"]
    return next(iter(inner)) if isinstance(inner, dict) else inner


def inner(item):
    return item["inner"][kind_of(item)]


# -- types ------------------------------------------------------------------------------------

def path_name(p):
    """A resolved path: the crate's items by their public path, others' by their canonical one
    when rustdoc knows it, else as written."""
    summary = paths.get(str(p.get("id")))
    if p.get("id") in public:
        name = public[p["id"]]
    elif summary:
        name = "::".join(summary["path"])
    else:
        name = p.get("path") or p.get("name", "?")
    return name + generic_args(p.get("args"))


def generic_args(args):
    if not args:
        return ""
    if "angle_bracketed" in args:
        a = args["angle_bracketed"]
        out = [generic_arg(x) for x in a.get("args", [])]
        for c in a.get("constraints", a.get("bindings", [])):
            binding = c.get("binding", {})
            head = c["name"] + generic_args(c.get("args"))
            if "equality" in binding:
                term = binding["equality"]
                out.append(f"{head} = " + (ty(term["type"]) if "type" in term else const_expr(term.get("constant"))))
            elif "constraint" in binding:
                out.append(f"{head}: " + bounds(binding["constraint"]))
        return "<" + ", ".join(out) + ">" if out else ""
    if "parenthesized" in args:
        p = args["parenthesized"]
        out = "(" + ", ".join(ty(t) for t in p.get("inputs", [])) + ")"
        if p.get("output"):
            out += " -> " + ty(p["output"])
        return out
    return ""


def generic_arg(a):
    if a == "infer":
        return "_"
    if "lifetime" in a:
        return a["lifetime"]
    if "type" in a:
        return ty(a["type"])
    if "const" in a:
        return const_expr(a["const"])
    return "?"


def const_expr(c):
    if not c:
        return "?"
    return c.get("expr") or c.get("value") or "?"


def bound(b):
    if "trait_bound" in b:
        t = b["trait_bound"]
        prefix = {"maybe": "?", "maybe_const": "~const "}.get(t.get("modifier"), "")
        hrtb = for_params(t.get("generic_params", []))
        return hrtb + prefix + path_name(t["trait"])
    if "outlives" in b:
        return b["outlives"]
    if "use" in b:
        return "use<" + ", ".join(x if isinstance(x, str) else next(iter(x.values())) for x in b["use"]) + ">"
    return "?"


def bounds(bs):
    return " + ".join(bound(b) for b in bs)


def for_params(params):
    return "for<" + ", ".join(p["name"] for p in params) + "> " if params else ""


def ty(t):
    if t is None:
        return "()"
    if isinstance(t, str):
        return "_" if t == "infer" else t
    k, v = next(iter(t.items()))
    if k == "resolved_path":
        return path_name(v)
    if k == "generic":
        return v
    if k == "primitive":
        return v
    if k == "tuple":
        return "(" + ", ".join(ty(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if k == "slice":
        return "[" + ty(v) + "]"
    if k == "array":
        return "[" + ty(v["type"]) + "; " + str(v["len"]) + "]"
    if k == "borrowed_ref":
        lt = v.get("lifetime")
        return "&" + (lt + " " if lt else "") + ("mut " if v.get("is_mutable") else "") + ty(v["type"])
    if k == "raw_pointer":
        return "*" + ("mut " if v.get("is_mutable") else "const ") + ty(v["type"])
    if k == "dyn_trait":
        parts = [for_params(p.get("generic_params", [])) + path_name(p["trait"]) for p in v["traits"]]
        if v.get("lifetime"):
            parts.append(v["lifetime"])
        return "dyn " + " + ".join(parts)
    if k == "impl_trait":
        return "impl " + bounds(v)
    if k == "function_pointer":
        sig = v["sig"]
        out = "fn(" + ", ".join(ty(x[1]) for x in sig["inputs"]) + ")"
        return out + (" -> " + ty(sig["output"]) if sig.get("output") else "")
    if k == "qualified_path":
        trait = v.get("trait")
        self_ty = ty(v["self_type"])
        base = f"<{self_ty} as {path_name(trait)}>" if trait else self_ty
        return base + "::" + v["name"] + generic_args(v.get("args"))
    if k == "pat":
        return ty(v["type"])
    return "?"


def generics(g):
    params = []
    for p in g.get("params", []):
        kind = p["kind"]
        if "lifetime" in kind:
            outlives = kind["lifetime"].get("outlives", [])
            params.append(p["name"] + (": " + " + ".join(outlives) if outlives else ""))
        elif "type" in kind:
            t = kind["type"]
            if t.get("is_synthetic"):
                continue
            s = p["name"]
            if t.get("bounds"):
                s += ": " + bounds(t["bounds"])
            if t.get("default"):
                s += " = " + ty(t["default"])
            params.append(s)
        elif "const" in kind:
            params.append("const " + p["name"] + ": " + ty(kind["const"]["type"]))
    return "<" + ", ".join(params) + ">" if params else ""


def where_clause(g):
    preds = []
    for w in g.get("where_predicates", []):
        if "bound_predicate" in w:
            b = w["bound_predicate"]
            if b.get("bounds"):
                preds.append(for_params(b.get("generic_params", [])) + ty(b["type"]) + ": " + bounds(b["bounds"]))
        elif "lifetime_predicate" in w:
            lp = w["lifetime_predicate"]
            preds.append(lp["lifetime"] + ": " + " + ".join(lp["outlives"]))
        elif "eq_predicate" in w:
            e = w["eq_predicate"]
            rhs = e["rhs"]
            preds.append(ty(e["lhs"]) + " = " + (ty(rhs["type"]) if "type" in rhs else const_expr(rhs.get("constant"))))
    return " where " + ", ".join(preds) if preds else ""


def signature(path, f):
    header = f.get("header", {})
    quals = "".join(q + " " for q, on in (("const", header.get("is_const")), ("async", header.get("is_async")),
                                          ("unsafe", header.get("is_unsafe"))) if on)
    args = []
    for name, t in f["sig"]["inputs"]:
        if name == "self":
            if t == {"generic": "Self"}:
                args.append("self")
            elif "borrowed_ref" in t and t["borrowed_ref"]["type"] == {"generic": "Self"}:
                r = t["borrowed_ref"]
                lt = r.get("lifetime")
                args.append("&" + (lt + " " if lt else "") + ("mut " if r.get("is_mutable") else "") + "self")
            else:
                args.append("self: " + ty(t))
        else:
            args.append(f"{name}: {ty(t)}")
    out = f"pub {quals}fn {path}{generics(f['generics'])}({', '.join(args)})"
    if f["sig"].get("output"):
        out += " -> " + ty(f["sig"]["output"])
    return out + where_clause(f["generics"])


# -- items ------------------------------------------------------------------------------------

def emit_impls(path, impl_ids, self_kind):
    for impl_id in impl_ids:
        impl_item = index.get(str(impl_id))
        if impl_item is None:
            continue
        im = inner(impl_item)
        if im.get("blanket_impl") is not None:
            continue
        g = generics(im["generics"])
        if im.get("trait") is None:
            # The bounds of the impl block, when it has some (`impl<C: Clone> ApiErrorLayer<C>`).
            bounded = any(p["kind"].get("type", {}).get("bounds") for p in im["generics"]["params"])
            context = f" (impl{g} {ty(im['for'])}{where_clause(im['generics'])})" if bounded or where_clause(im["generics"]) else ""
            for member_id in im["items"]:
                member = index.get(str(member_id))
                if member is None or member.get("visibility") != "public":
                    continue
                emit_member(f"{path}::{member['name']}", member, context)
        else:
            if im["trait"].get("path", "").endswith("Freeze"):
                continue  # an unstable auto trait, not part of what users may rely on
            neg = "!" if im.get("is_negative") else ""
            lines.add(f"impl{g} {neg}{path_name(im['trait'])} for {ty(im['for'])}{where_clause(im['generics'])}")


def emit_member(path, item, context=""):
    k, v = kind_of(item), inner(item)
    if k == "function":
        lines.add(signature(path, v) + context)
    elif k == "assoc_const":
        t = v.get("type")
        lines.add(f"pub const {path}: {ty(t)}")
    elif k == "assoc_type":
        lines.add(f"pub type {path}" + (" = " + ty(v["type"]) if v.get("type") else ""))


def emit(path, item):
    k, v = kind_of(item), inner(item)
    if k == "module":
        lines.add(f"pub mod {path}")
        for child in children(item):
            visit(path, child)
    elif k == "struct":
        g = v["generics"]
        lines.add(f"pub struct {path}{generics(g)}{where_clause(g)}")
        kind = v["kind"]
        fields = []
        if isinstance(kind, dict) and "plain" in kind:
            fields = kind["plain"]["fields"]
        elif isinstance(kind, dict) and "tuple" in kind:
            fields = [f for f in kind["tuple"] if f is not None]
        for field_id in fields:
            field = index[str(field_id)]
            lines.add(f"pub struct field {path}::{field['name']}: {ty(inner(field))}")
        emit_impls(path, v.get("impls", []), k)
    elif k == "enum":
        g = v["generics"]
        lines.add(f"pub enum {path}{generics(g)}{where_clause(g)}")
        for variant_id in v["variants"]:
            variant = index[str(variant_id)]
            vk = inner(variant)["kind"]
            shape = ""
            if isinstance(vk, dict) and "tuple" in vk:
                shape = "(" + ", ".join(ty(inner(index[str(f)])) for f in vk["tuple"] if f is not None) + ")"
            elif isinstance(vk, dict) and "struct" in vk:
                for f in vk["struct"]["fields"]:
                    field = index[str(f)]
                    lines.add(f"pub enum variant field {path}::{variant['name']}::{field['name']}: {ty(inner(field))}")
            lines.add(f"pub enum variant {path}::{variant['name']}{shape}")
        emit_impls(path, v.get("impls", []), k)
    elif k == "union":
        lines.add(f"pub union {path}{generics(v['generics'])}")
        emit_impls(path, v.get("impls", []), k)
    elif k == "trait":
        g = v["generics"]
        supers = ": " + bounds(v["bounds"]) if v.get("bounds") else ""
        lines.add(f"pub trait {path}{generics(g)}{supers}{where_clause(g)}")
        for member_id in v["items"]:
            member = index.get(str(member_id))
            if member is not None:
                emit_member(f"{path}::{member['name']}", member)
    elif k == "function":
        lines.add(signature(path, v))
    elif k == "constant":
        lines.add(f"pub const {path}: {ty(v['type'])}")
    elif k == "static":
        lines.add(f"pub static {path}: {ty(v['type'])}")
    elif k == "type_alias":
        lines.add(f"pub type {path}{generics(v['generics'])} = {ty(v['type'])}")
    elif k == "macro":
        lines.add(f"pub macro {path}!")
    else:
        lines.add(f"pub {k} {path}")


def reachable(parent, item, step):
    """Calls `step(path, item)` for each public item under `parent`, following re-exports."""
    if kind_of(item) == "use":
        u = inner(item)
        target = index.get(str(u.get("id")))
        if u.get("is_glob"):
            lines.add(f"pub use {parent}::{u['source']}::*")
        elif target is None:
            lines.add(f"pub use {parent}::{u['name']} = {u['source']}")
        else:
            step(f"{parent}::{u['name']}", target)
        return
    if item.get("visibility") != "public" or item.get("name") is None:
        return
    step(f"{parent}::{item['name']}", item)


def children(item):
    return [index[str(i)] for i in inner(item)["items"] if str(i) in index]


def collect(path, item):
    seen.setdefault(item["id"], []).append(path)
    if kind_of(item) == "module":
        for child in children(item):
            reachable(path, child, collect)


def visit(parent, item):
    reachable(parent, item, emit)


root = index[str(doc["root"])]
for child in children(root):
    reachable(krate, child, collect)
public = {id_: sorted(ps)[0] for id_, ps in seen.items()}

lines.add(f"pub mod {krate}")
for child in children(root):
    visit(krate, child)

for line in sorted(lines):
    print(line)

twice = sorted(ps for ps in seen.values() if len(ps) > 1)
for ps in twice:
    print("public at more than one path: " + ", ".join(sorted(ps)), file=sys.stderr)
sys.exit(1 if twice else 0)
