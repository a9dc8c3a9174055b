"""Components' sources: which repository each one is, through which driver, fetched.

    with Sources(workspace, target, architecture) as sources:
        fetched = sources.fetch(pins={"api": "v1.2"})   # component -> Source

Where a component's source is, first match wins:

    source = "./api"                 the `path` driver: the folder, in place
    source = "https://…/api.git#v2"  the `git` driver: that remote, at that ref
    repository = "acme/api"          the target's repository driver ([repositories])
    (neither)                        the same driver, by the naming scheme:
                                     {owner}/{application}-{component}

Only components with compute objects are fetched (something runs their source);
fetches run concurrently in threads, one per repository and revision. A
problem with one source (a missing repository, an unknown revision) is kept
with it, for the plan to report beside every other problem; a bad `--revision`
is refused at once.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from scoot_model.objects import Architecture, Compute
from scoot_model.wording import closest, did_you_mean
from scoot_runtime import repositories
from scoot_runtime.errors import ScootError
from scoot_runtime.files import make_workspace
from scoot_runtime.repositories import locations, naming
from scoot_runtime.repositories.base import (
    Fetched,
    Repository,
    RepositoryContext,
    RepositoryDriver,
    RepositoryError,
)
from scoot_runtime.repositories.git import GitDriver
from scoot_runtime.repositories.path import PathDriver
from scoot_runtime.workspace import (
    FROM_SCHEME,
    SETTINGS_FILE,
    RepositorySettings,
    SettingsError,
    Target,
    Workspace,
)

Origin = Literal["source", "repository", "scheme", "from"]
FETCHES_AT_ONCE = 8
# The key of the architecture's own repository among the components' (never a component's name).
ARCHITECTURE = "(architecture)"
T = TypeVar("T")


@dataclass(frozen=True)
class Located:
    """Where a component's source is: its repository and driver, or why it has none."""

    component: str
    driver: str  # the driver's registered name
    repository: Repository | None
    origin: Origin
    problem: str | None = None

    @property
    def described(self) -> str:
        """The repository for a message: `acme/shop-api` through the github driver."""
        name = str(self.repository) if self.repository else "?"
        how = {
            "source": "its `source`", "repository": "its `repository`", "scheme": "the naming scheme",
            "from": "`--from`",
        }[self.origin]
        return f"{name} ({self.driver} driver, from {how})"


@dataclass(frozen=True)
class Source:
    """A component's source for one run: fetched, or the problem that kept it from being."""

    located: Located
    fetched: Fetched | None = None
    problem: str | None = None


def parse_pins(items: Iterable[str]) -> dict[str, str]:
    """`--revision COMPONENT=REV` options as a map; a malformed one is an error saying so."""
    pins: dict[str, str] = {}
    for item in items:
        component, equals, revision = item.partition("=")
        if not equals or not component or not revision:
            raise ScootError(f"--revision {item!r}: write COMPONENT=REVISION, such as `--revision api=3f2a9c1`")
        locations.check_ref(revision, f"--revision {component}={revision}")
        if component in pins and pins[component] != revision:
            raise ScootError(f"--revision {component} is given twice ({pins[component]} and {revision}): keep one")
        pins[component] = revision
    return pins


def computing(architecture: Architecture) -> list[str]:
    """The components with compute objects: those whose source runs."""
    return sorted(
        name
        for name, component in architecture.components.items()
        if any(obj.kind == Compute.kind_name for obj in component.objects.values())
    )


def with_code(architecture: Architecture) -> list[str]:
    """The components that have code: those that run it, and those that say where it is.

    A component holding only storage, with neither `source` nor `repository`,
    has no repository to list or create.
    """
    running = set(computing(architecture))
    return sorted(
        name
        for name, component in architecture.components.items()
        if name in running or component.source is not None or component.repository is not None
    )


class Sources:
    """The repository drivers of one application and target, and its components' repositories."""

    def __init__(
        self,
        workspace: Workspace,
        target: Target,
        architecture: Architecture,
        environ: Mapping[str, str] | None = None,
        origin: Fetched | None = None,
    ) -> None:
        self.workspace = workspace
        self.architecture = architecture
        self.origin = origin  # where `--from` took the architecture from, if it did
        self.settings: RepositorySettings = workspace.repositories_for(target)
        self.environ = dict(environ or {})
        self._drivers: dict[str, RepositoryDriver] = {}
        self._check_options()
        self.located = {name: self._locate(name) for name in sorted(architecture.components)}

    # --- drivers -----------------------------------------------------------------------------

    @property
    def configured(self) -> str:
        """The name of the repository driver [repositories] chooses."""
        return self.settings.driver

    def driver(self, name: str) -> RepositoryDriver:
        """The driver registered as `name`, made once; the configured one gets the options."""
        if name not in self._drivers:
            options = self.settings.options if name == self.configured else {}
            context = RepositoryContext(
                application=self.architecture.application.name,
                owner=self.owner,
                root=self.workspace.architecture_root,
                workspace=self.workspace.state_dir,
                options=dict(options),
                environ=self.environ,
                settings_root=self.workspace.root,
            )
            self._drivers[name] = repositories.load(name)(context)
        return self._drivers[name]

    @property
    def owner(self) -> str | None:
        return self.settings.owner or self.architecture.application.owner

    def _check_options(self) -> None:
        driver_type = repositories.load(self.configured)
        unknown = sorted(set(self.settings.options) - driver_type.option_names)
        if unknown:
            raise SettingsError(
                f"[repositories] in scoot.toml sets `{unknown[0]}`, which the {self.configured} repository "
                f"driver does not take{did_you_mean(closest(unknown[0], sorted(driver_type.option_names)))}"
                + f"; its options are {', '.join(sorted(driver_type.option_names)) or 'none'} (and Scoot's own: "
                "driver, owner, organisation, drop_prefix)"
            )

    # --- where each component's source is ----------------------------------------------------

    def _locate(self, component: str) -> Located:
        declared = self.architecture.components[component]
        if declared.source is not None:
            location = locations.parse(declared.source)
            if location.kind == "folder":
                path = self.driver(PathDriver.name)
                assert isinstance(path, PathDriver)
                return Located(component, PathDriver.name, path.folder(location.where), "source")
            git = self.driver(GitDriver.name)
            assert isinstance(git, GitDriver)
            return Located(component, GitDriver.name, git.remote(location.where, location.ref), "source")
        if declared.repository is not None:
            return self._named(component, declared.repository, "repository")
        if self.owner is None and not self.settings.organisation:
            return Located(
                component, self.configured, None, "scheme",
                f"component `{component}` has no `source`, and its repository cannot be named by the scheme "
                "`{owner}/{application}-{component}` without an owner: set `owner` in the application block "
                "(or in [repositories] of scoot.toml), or set the component's `source`",
            )
        try:
            full = naming.component_repository(
                self.owner or "", self.architecture.application.name, component,
                organisation=self.settings.organisation, drop_prefix=self.settings.drop_prefix,
            )
        except RepositoryError as error:
            return Located(component, self.configured, None, "scheme", f"component `{component}`: {error}")
        return self._named(component, full, "scheme")

    @functools.cached_property
    def architecture_located(self) -> Located:
        """The architecture's own repository: where `--from` took it from, else the scheme's
        `{owner}/{application}` (`{application}/architecture` in its own organisation)."""
        if self.origin is not None:
            repository = self.origin.repository
            return Located(ARCHITECTURE, repository.driver, repository, "from")
        if self.owner is None and not self.settings.organisation:
            return Located(
                ARCHITECTURE, self.configured, None, "scheme",
                "the architecture's repository cannot be named by the scheme `{owner}/{application}` without "
                "an owner: set `owner` in the application block (or in [repositories] of scoot.toml)",
            )
        try:
            full = naming.architecture_repository(
                self.owner or "", self.architecture.application.name, organisation=self.settings.organisation
            )
        except RepositoryError as error:
            return Located(ARCHITECTURE, self.configured, None, "scheme", f"the architecture's repository: {error}")
        return self._named(ARCHITECTURE, full, "scheme")

    def located_for(self, key: str) -> Located:
        """A component's repository, or the architecture's (`ARCHITECTURE`)."""
        return self.architecture_located if key == ARCHITECTURE else self.located[key]

    def _named(self, component: str, full: str, origin: Origin) -> Located:
        try:
            repository = self.driver(self.configured).repository(full)
        except RepositoryError as error:
            return Located(component, self.configured, None, origin, f"{full}: {error}")
        return Located(component, self.configured, repository, origin)

    # --- asking the drivers ------------------------------------------------------------------

    def fetch(self, pins: Mapping[str, str] | None = None, components: Iterable[str] | None = None) -> dict[str, Source]:
        """Fetch the sources of `components` (default: every one with compute objects), concurrently.

        `pins` (component → branch, tag or commit) must name components that run
        something, or this raises before anything is fetched.
        """
        wanted = sorted(components) if components is not None else computing(self.architecture)
        pins = dict(pins or {})
        self._check_pins(pins, wanted)
        fetched = self._ask(wanted, lambda driver, repository, pin: driver.fetch(repository, pin), pins)
        result: dict[str, Source] = {}
        for component, outcome in fetched.items():
            located = self.located[component]
            if isinstance(outcome, Fetched):
                result[component] = Source(located, outcome)
            elif located.repository is None:  # never asked: it says itself why
                result[component] = Source(located, problem=located.problem)
            else:
                result[component] = Source(located, problem=self._problem(located, outcome))
        return result

    def latest(self, components: Iterable[str] | None = None) -> dict[str, str | Exception]:
        """The newest revision of each component's repository (its `#ref` or default branch)."""
        wanted = sorted(components) if components is not None else computing(self.architecture)
        return self._ask(wanted, lambda driver, repository, _: driver.latest(repository))

    def exists(self, components: Iterable[str] | None = None) -> dict[str, bool | Exception]:
        """Whether each repository exists (default: the architecture's, `ARCHITECTURE`, and
        every component with code)."""
        wanted = sorted(components) if components is not None else [ARCHITECTURE, *with_code(self.architecture)]
        return self._ask(wanted, lambda driver, repository, _: driver.exists(repository))

    def create(self, component: str) -> None:
        """Create a component's repository, or the architecture's (`ARCHITECTURE`)."""
        located = self.located_for(component)
        if located.repository is None:
            raise RepositoryError(located.problem or f"component `{component}` has no repository")
        self.driver(located.driver).create(located.repository)

    def prune(self, keep: Collection[str]) -> None:
        """Let each fetched repository's driver remove the revisions not in `keep` (best effort)."""
        seen: set[tuple[str, Repository]] = set()
        for located in self.located.values():
            if located.repository is None or (located.driver, located.repository) in seen:
                continue
            seen.add((located.driver, located.repository))
            with contextlib.suppress(Exception):  # a folder left behind costs disk, not correctness
                self.driver(located.driver).prune(located.repository, keep)

    def close(self) -> None:
        for driver in self._drivers.values():
            with contextlib.suppress(Exception):
                driver.close()

    def __enter__(self) -> Sources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers -----------------------------------------------------------------------------

    def _check_pins(self, pins: Mapping[str, str], wanted: list[str]) -> None:
        for component in sorted(pins):
            if component not in self.architecture.components:
                raise ScootError(
                    f"--revision {component}=…: the architecture has no component `{component}`"
                    + did_you_mean(closest(component, sorted(self.architecture.components)))
                    + f"; its components are {', '.join(sorted(self.architecture.components)) or 'none'}"
                )
            if component not in wanted:
                raise ScootError(
                    f"--revision {component}=…: component `{component}` has no compute objects, so nothing "
                    "runs its source: remove the option"
                )

    def _ask(self, components: list[str], question: Any, pins: Mapping[str, str] | None = None) -> dict[str, Any]:
        """`question(driver, repository, pin)` once per repository (and pin), asked in threads:
        each component's answer, or the exception it raised (kept for the plan to report)."""
        result: dict[str, Any] = {}
        jobs: dict[tuple[str, Repository, str | None], list[str]] = {}
        for component in components:
            located = self.located_for(component)
            if located.repository is None:
                result[component] = RepositoryError(located.problem or "no repository")
            else:
                key = (located.driver, located.repository, (pins or {}).get(component))
                jobs.setdefault(key, []).append(component)
        answers = self._each(list(jobs), lambda job: question(self.driver(job[0]), job[1], job[2]))
        for job, answer in answers.items():
            for component in jobs[job]:
                result[component] = answer
        return {key: result[key] for key in components}

    def _each(self, jobs: list[T], work: Any) -> dict[T, Any]:
        """`work(job)` for each job in threads: its result, or the exception it raised."""

        def guarded(job: T) -> Any:
            try:
                return work(job)
            except Exception as error:  # kept with the component; the plan reports it
                return error

        if len(jobs) <= 1:
            return {job: guarded(job) for job in jobs}
        with ThreadPoolExecutor(max_workers=min(FETCHES_AT_ONCE, len(jobs)), thread_name_prefix="scoot-fetch") as pool:
            return dict(zip(jobs, pool.map(guarded, jobs), strict=True))

    def _problem(self, located: Located, error: Exception) -> str:
        if not isinstance(error, ScootError):
            error_text = f"{type(error).__name__}: {error}"
        else:
            error_text = str(error)
        where = f"the source of component `{located.component}`, {located.described}: {error_text}"
        if located.origin == "scheme":
            return f"{where}; or set the component's `source` (a folder or git URL) or `repository`"
        return f"{where}; or correct the component's `{located.origin}`"


def fetch_architecture(
    workspace: Workspace,
    target: Target,
    where: str,
    environ: Mapping[str, str] | None = None,
    said: str | None = None,
) -> Fetched:
    """`--from REPO`: the architecture's repository, fetched under `.scoots/repos/` (a folder: in place).

    REPO is a git URL (the git driver, `#ref` allowed), a folder written as one
    (`./shop`, `../shop`, `/srv/shop`: the path driver), `owner/name` of the
    target's repository driver, or `scheme`: the naming scheme's name of the
    architecture's repository (`{owner}/{application}`, `{application}/architecture`
    in its own organisation) through that driver. The application folder's
    scoot.toml and scoot.lock stay the ones in use. `said` is how the user wrote
    REPO, for messages (default `--from REPO`).
    """
    said = said or f"--from {where}"
    settings = workspace.repositories_for(target)
    folder = where.startswith((".", "/", "~"))
    named = where
    if where == FROM_SCHEME:
        driver_name = settings.driver
        named = _scheme_architecture(workspace, settings, said)
        said = f"{said} ({named} by the naming scheme, for application `{workspace.root.name}`: the folder's name)"
    elif locations.is_git_url(where):
        driver_name = GitDriver.name
    elif folder:
        driver_name = PathDriver.name
    elif _is_full_name(where):
        if Path(where).is_dir():
            raise ScootError(
                f"{said}: both a folder here and a repository name; write `./{where}` for the "
                "folder, or run from elsewhere for the repository"
            )
        driver_name = settings.driver
    else:
        raise ScootError(
            f"{said}: give a git URL, a folder (starting with `./`, `../` or `/`), the `owner/name` of a "
            f"repository of the {settings.driver} driver, or `{FROM_SCHEME}` (the architecture's repository "
            "by the naming scheme)"
        )
    context = RepositoryContext(
        application=workspace.root.name,
        owner=settings.owner,
        root=workspace.root,
        workspace=make_workspace(workspace.state_dir),
        options=dict(settings.options if driver_name == settings.driver else {}),
        environ=dict(environ or {}),
        settings_root=workspace.root,
    )
    driver = repositories.load(driver_name)(context)
    try:
        if isinstance(driver, GitDriver) and locations.is_git_url(where):
            location = locations.parse(where)
            repository = driver.remote(location.where, location.ref)
        elif isinstance(driver, PathDriver) and folder:
            repository = driver.folder(str(Path(where).expanduser().resolve()))
        else:
            repository = driver.repository(named)
        return driver.fetch(repository)
    except RepositoryError as error:
        raise RepositoryError(f"{said}: {error}") from None
    finally:
        driver.close()


def _scheme_architecture(workspace: Workspace, settings: RepositorySettings, said: str) -> str:
    """The scheme's name of the architecture's repository, before the architecture is read:
    the application is named by its folder, the owner by [repositories] `owner`."""
    application = workspace.root.name
    if not settings.organisation and settings.owner is None:
        raise SettingsError(
            f"{said}: the architecture's repository by the naming scheme is `{{owner}}/{{application}}`, and "
            f"the owner is in the architecture, which is not read yet: set `owner` in [repositories] of "
            f"{workspace.root / SETTINGS_FILE} (or `organisation = true`), or name the repository (`owner/name`)"
        )
    try:
        return naming.architecture_repository(settings.owner or "", application, organisation=settings.organisation)
    except RepositoryError as error:
        raise RepositoryError(
            f"{said}: application `{application}` (the application folder's name): {error}; name the "
            "repository instead (`owner/name`)"
        ) from None


def _is_full_name(text: str) -> bool:
    """Whether `text` is an `owner/name` a repository driver understands."""
    try:
        naming.split(text)
    except RepositoryError:
        return False
    return True
