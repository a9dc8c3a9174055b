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
from scoot_lang.binding import Rebinding, binder, declare
from scoot_lang.compilation import PARAM_OPTION
from scoot_lang.cycles import reference_cycles
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.evaluation import Evaluator, given_as
from scoot_lang.findings import Findings
from scoot_lang.limits import Budget
from scoot_lang.modules import ModuleLoader, Modules, ModuleSourceError, ModuleTexts
from scoot_lang.moves import check_moves
from scoot_lang.reuse import (
    Checked,
    Checks,
    Recorder,
    environment,
    replay,
    replay_moved,
    replayable,
)
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


def _checked(validator: Validator, name: str, block: s.ComponentBlock, file: s.File) -> Component | None:
    """Check a component: in the scope of the module instance that made it, if one did."""
    made_by = validator.evaluator.declared.component_scopes.get(name)
    return (validator.scopes.get(made_by, validator) if made_by else validator).component(name, block, file)


def _kept(checks: Checks, one_by_one: bool, evaluator: Evaluator) -> dict[str, Checked]:
    """The kept checks that may be replayed now (those of the last compile, if the unit
    can be checked a component at a time and what they read is unchanged); `checks`
    starts afresh."""
    now = environment(evaluator) if one_by_one else None
    kept = checks.components if now is not None and now == checks.environment else {}
    checks.environment, checks.components = now, {}
    return kept


def _component(
    validator: Validator, name: str, block: s.ComponentBlock, file: s.File, kept: dict[str, Checked], checks: Checks
) -> Component | None:
    """Check a component, or replay its kept check; keep what checking it found."""
    findings, evaluator = validator.findings, validator.evaluator
    last = kept.get(name)
    text = checks.texts.get(file.path)
    if last is not None and last.path == file.path and last.block is not block and text is not None:
        if last.text == text[block.start : block.end] and replay_moved(last, block, findings, evaluator):
            checks.components[name] = last
            return last.component
        last = None
    if last is not None and last.block is block and replay(last, findings, evaluator):
        checks.components[name] = last
        return last.component
    if checks.environment is None or text is None:  # modules, `for` or `if`; syntax errors
        return _checked(validator, name, block, file)
    recorder = Recorder(findings, evaluator)
    component = validator.component(name, block, file)
    checked = recorder.finish(block, file.path, text[block.start : block.end], component)
    if checked is not None:
        checks.components[name] = checked
    return component


def no_modules(source: str, user: str) -> ModuleTexts:
    raise ModuleSourceError(
        "SCT701", "modules are read from files: compile a file or a folder to use one"
    )


def check(
    files: list[s.File],
    params: dict[str, str] | None = None,
    origins: Mapping[str, str] | None = None,
    loader: ModuleLoader = no_modules,
    checks: Checks | None = None,
) -> CheckResult:
    """`origins`: where each of `params` was given (`scoot.toml [params]`), `--param` if unsaid;
    `loader`: reads the modules the unit uses; `checks`: the checks of components kept
    from the last compile of this unit, replayed where nothing they read changed, and
    updated (`reuse`)."""
    params = dict(params or {})
    given = {name: (origins or {}).get(name, PARAM_OPTION) for name in params}
    findings = Findings()
    one_by_one = checks is not None and replayable(files)
    rebinding = Rebinding(checks.bound, checks.texts) if checks is not None and one_by_one else None
    declared = declare(files, findings, rebinding)
    if checks is not None:
        checks.bound = rebinding.now if rebinding is not None else {}
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
    kept = _kept(checks, one_by_one, evaluator) if checks is not None else {}
    for name, (block, file) in declared.components.items():
        if checks is None:
            component = _checked(validator, name, block, file)
        else:
            component = _component(validator, name, block, file, kept, checks)
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
    findings.seal()
    return CheckResult(architecture, findings.diagnostics, findings.semantic, findings.source_map, modules.texts)
