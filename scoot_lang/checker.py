"""Syntax trees to runtime objects: the checker's passes, in order.

1. `binding`: every name the unit declares;
2. `evaluation`: every `let` and `param` folded (references resolved by `references`);
3. `validation`: each block evaluated and validated against the model of its kind;
4. `cycles`: references between objects that no order could satisfy;
5. `moves`: the `moved` blocks' addresses and the model's rules of moves;
between binding and evaluation, the blocks with `for` or `if` become their instances
(`repetition`);
then what is declared and never used. Module instances (`modules`) are bound after
the application's own names, each with an evaluator and a validator of its own.

What the passes learn goes into the semantic model and the source map; what is
wrong goes into diagnostics, each once, with no cascade from a value that is
already known to be wrong (`values.INVALID`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scoot_lang import syntax as s
from scoot_lang.binding import binder, declare
from scoot_lang.compilation import PARAM_OPTION
from scoot_lang.cycles import reference_cycles
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.evaluation import Evaluator, given_as
from scoot_lang.findings import Findings
from scoot_lang.limits import Budget
from scoot_lang.modules import ModuleLoader, Modules, ModuleSourceError, ModuleTexts
from scoot_lang.moves import check_moves
from scoot_lang.semantic import SemanticModel, SourceMap
from scoot_lang.validation import Validator
from scoot_model.objects import Architecture, Component
from scoot_model.wording import closest, did_you_mean


@dataclass
class CheckResult:
    architecture: Architecture | None
    diagnostics: list[Diagnostic]
    semantic: SemanticModel
    source_map: SourceMap
    module_texts: dict[str, str] = field(default_factory=dict)  # the modules' files, by path


def no_modules(source: str, user: str) -> ModuleTexts:
    raise ModuleSourceError(
        "SCT701", "modules are read from files: compile a file or a folder to use one"
    )


def check(
    files: list[s.File],
    params: dict[str, str] | None = None,
    origins: Mapping[str, str] | None = None,
    loader: ModuleLoader = no_modules,
) -> CheckResult:
    """`origins`: where each of `params` was given (`scoot.toml [params]`), `--param` if unsaid;
    `loader`: reads the modules the unit uses."""
    params = dict(params or {})
    given = {name: (origins or {}).get(name, PARAM_OPTION) for name in params}
    findings = Findings()
    declared = declare(files, findings)
    evaluator = Evaluator(findings, declared, Budget(findings), params, given)
    # The instances of `for` and `if` first: a component made by a `for` may use modules.
    modules = Modules(loader, findings, declared, evaluator)
    modules.expand(binder(declared, findings), evaluator)
    modules.bind()
    params_declared = [name for name, (decl, _) in declared.decls.items() if isinstance(decl, s.ParamDecl)]
    for name in params:
        if name not in params_declared:
            origin, like = given[name], did_you_mean(closest(name, params_declared))
            if origin == PARAM_OPTION:
                message = f"{given_as(origin, name)}: the architecture declares no param `{name}`{like}"
            else:
                message = (
                    f"{origin}: the architecture declares no param `{name}`{like}; remove `{name}` "
                    "there, or declare the param in the architecture"
                )
            findings.add(diagnostic("SCT504", message, None))
    instances = modules.evaluators()
    evaluator.evaluate_decls()
    for instance in instances:
        instance.evaluate_decls()
    validator = Validator(findings, evaluator)
    for scope, made in modules.instances.items():
        if made.evaluator is not None:
            validator.scopes[scope] = Validator(made.findings, made.evaluator, validator.scopes)
    application = validator.application(*declared.application) if declared.application else None
    components: dict[str, Component] = {}
    for name, (block, file) in declared.components.items():
        made_by = declared.component_scopes.get(name)
        checker = validator.scopes.get(made_by, validator) if made_by else validator
        component = checker.component(name, block, file)
        if component is not None:
            components[name] = component
    findings.diagnostics.extend(reference_cycles(evaluator.deps))
    moved = check_moves(files, declared, findings)
    for name, (decl, file) in declared.decls.items():
        if name not in evaluator.used and not file.from_json:
            what = "param" if isinstance(decl, s.ParamDecl) else "let"
            findings.error("SCT901", f"{what} `{name}` is never used; remove it or refer to it", file, decl.name)
    modules.evaluate_outputs()
    findings.diagnostics.extend(modules.unused())
    # The instances of a `for` share their text: what is wrong in it once is said once.
    findings.diagnostics[:] = list(dict.fromkeys(findings.diagnostics))
    architecture = None
    if application is not None and not findings.has_errors:
        architecture = Architecture.model_construct(application=application, components=components, moved=moved)
    return CheckResult(architecture, findings.diagnostics, findings.semantic, findings.source_map, modules.texts)
