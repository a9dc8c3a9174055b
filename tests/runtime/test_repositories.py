"""Where components' sources come from: the `source` and `repository` attributes, the
[repositories] settings, the `path` driver, the runtime's resolution of each component
to a repository, `--revision` pins, `scoot repos` and `--from` with folders.

Real files, real drivers; the git driver's own tests are in test_git_sources.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scoot_cli import cli
from scoot_lang import compile_source
from scoot_model.objects import Application, Architecture, Component, Compute, Storage
from scoot_runtime.errors import ScootError
from scoot_runtime.repositories.base import RepositoryContext, RepositoryError
from scoot_runtime.repositories.locations import Location, parse
from scoot_runtime.repositories.path import PathDriver, folder_revision
from scoot_runtime.sources import ARCHITECTURE, Sources, parse_pins
from scoot_runtime.workspace import SettingsError, load


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- `source` and `repository` ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("./api", Location("folder", "./api")),
        ("../shop-api", Location("folder", "../shop-api")),
        ("api/src", Location("folder", "api/src")),
        ("https://github.com/acme/api.git", Location("git", "https://github.com/acme/api.git")),
        ("https://github.com/acme/api.git#v1.2", Location("git", "https://github.com/acme/api.git", "v1.2")),
        ("ssh://git@host:2222/acme/api.git#main", Location("git", "ssh://git@host:2222/acme/api.git", "main")),
        ("git@github.com:acme/api.git#3f2a9c1", Location("git", "git@github.com:acme/api.git", "3f2a9c1")),
        ("file:///srv/git/api.git#feature/x", Location("git", "file:///srv/git/api.git", "feature/x")),
        ("git://127.0.0.1:9418/api.git", Location("git", "git://127.0.0.1:9418/api.git")),
    ],
)
def test_sources_that_are_read(source: str, expected: Location) -> None:
    assert parse(source) == expected


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("/srv/api", "is not relative"),
        ("~/api", "is not relative"),
        ("C:\\api", "is not relative"),
        ("./api#main", "has no branches"),
        ("ftp://host/api.git", "not a git transport"),
        ("ext::sh -c touch% /tmp/pwned", "neither a folder nor a git URL"),
        ("https://host/api.git#-upload-pack=x", "not a branch, tag or commit"),
        ("https://host/api.git#a..b", "not a branch, tag or commit"),
        ("https://", "names no repository"),
        ("", "a source is a folder"),
        (" ./api", "no surrounding spaces"),
    ],
)
def test_sources_that_are_refused(source: str, says: str) -> None:
    with pytest.raises(RepositoryError, match=says):
        parse(source)


def test_the_checker_reports_source_and_repository_on_their_values() -> None:
    text = """\
application shop { owner = "acme" }
component api {
  source = "./api"
  repository = "acme/api"
}
component worker {
  repository = "acme/../etc"
}
component web {
  source = "/srv/web"
}
"""
    result = compile_source(text, "architecture.sct")
    found = {(d.code, text[d.span.start : d.span.end]): d.message for d in result.errors if d.span}
    assert set(found) == {("SCT204", '"acme/api"'), ("SCT204", '"acme/../etc"'), ("SCT204", '"/srv/web"')}
    assert "not both" in found[("SCT204", '"acme/api"')]
    assert "is not a repository name" in found[("SCT204", '"acme/../etc"')]
    assert "is not relative" in found[("SCT204", '"/srv/web"')]

    ok = compile_source('application shop {}\ncomponent api { repository = "acme/shop-api" }\n')
    assert ok.errors == [] and ok.architecture is not None
    assert ok.architecture.to_dict()["components"]["api"] == {"repository": "acme/shop-api"}


def test_the_schema_describes_source_and_repository() -> None:
    properties = Component.model_json_schema()["properties"]
    assert "git URL" in properties["source"]["description"]
    assert "owner/name" in properties["repository"]["description"]


# -- settings -----------------------------------------------------------------------------------


def test_repositories_settings_and_a_target_over_them(tmp_path: Path) -> None:
    (tmp_path / "scoot.toml").write_text(
        """\
[repositories]
driver = "git"
owner = "acme"
base_url = "https://git.example.com/"

[targets.prod]
cloud = "local"
[targets.prod.repositories]
organisation = true

[targets.other]
cloud = "local"
[targets.other.repositories]
driver = "path"
base = "../checkouts"
""",
        encoding="utf-8",
    )
    loaded = load(tmp_path)
    base = loaded.repositories_for(loaded.target("local"))
    assert (base.driver, base.owner, base.organisation, base.options) == (
        "git", "acme", False, {"base_url": "https://git.example.com/"}
    )
    prod = loaded.repositories_for(loaded.target("prod"))
    assert (prod.driver, prod.organisation, prod.options) == ("git", True, {"base_url": "https://git.example.com/"})
    other = loaded.repositories_for(loaded.target("other"))
    # Another driver takes none of the other's options; the scheme's choices carry over.
    assert (other.driver, other.owner, other.options) == ("path", "acme", {"base": "../checkouts"})
    assert loaded.target("prod").options == {}


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('driver = 3', "`driver` must be"),
        ('owner = "-bad"', "`owner` must be"),
        ('organisation = "yes"', "`organisation` must be true or false"),
    ],
)
def test_bad_repositories_settings(tmp_path: Path, table: str, says: str) -> None:
    (tmp_path / "scoot.toml").write_text(f"[repositories]\n{table}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=says):
        load(tmp_path)


def test_an_option_the_repository_driver_does_not_take_is_refused(tmp_path: Path) -> None:
    (tmp_path / "scoot.toml").write_text('[repositories]\ndriver = "git"\nbase_ur = "x"\n', encoding="utf-8")
    loaded = load(tmp_path)
    with pytest.raises(SettingsError, match=r"`base_ur`.*did you mean `base_url`\?"):
        Sources(loaded, loaded.target(None), architecture())


# -- the path driver ----------------------------------------------------------------------------


def test_the_path_driver(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    path = PathDriver(RepositoryContext("shop", "acme", root, root / ".scoots"))
    scheme = path.repository("acme/shop-api")
    assert Path(scheme.name) == tmp_path / "shop-api"  # beside the architecture's folder
    assert not path.exists(scheme)
    with pytest.raises(RepositoryError, match=r"does not exist.*scoot repos create"):
        path.fetch(scheme)
    path.create(scheme)
    (tmp_path / "shop-api" / "main.py").write_text("print(1)\n", encoding="utf-8")
    fetched = path.fetch(scheme)
    assert fetched.path == tmp_path / "shop-api" and fetched.revision == folder_revision(tmp_path / "shop-api")
    assert path.fetch(scheme, fetched.revision.removeprefix("sha256:")[:10]).revision == fetched.revision
    with pytest.raises(RepositoryError, match="cannot be pinned"):
        path.fetch(scheme, "abcdef1")
    with pytest.raises(RepositoryError, match="not a repository name"):
        path.repository("../etc")
    based = PathDriver(RepositoryContext("shop", "acme", root, root / ".scoots", {"base": "repos"}))
    assert Path(based.repository("acme/x").name) == root / "repos" / "x"


# -- resolving components -----------------------------------------------------------------------


def architecture(owner: str | None = "acme", **components: Component) -> Architecture:
    web = Compute(command=["true"])
    defaults = {
        "api": Component(source="./api", objects={"web": web}),
        "worker": Component(objects={"jobs": web}),
        "shared": Component(repository="acme/shared-lib", objects={"web": web}),
        "data": Component(objects={"db": Storage(engine="sqlite")}),
    }
    return Architecture(application=Application(name="shop", owner=owner), components={**defaults, **components})


def test_each_component_is_located(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    with Sources(loaded, loaded.target(None), architecture()) as sources:
        located = {name: (item.driver, item.origin, item.repository.name if item.repository else None)
                   for name, item in sources.located.items()}
    assert located == {
        "api": ("path", "source", "./api"),
        "data": ("path", "scheme", str(tmp_path.parent / "shop-data")),
        "shared": ("path", "repository", str(tmp_path.parent / "shared-lib")),
        "worker": ("path", "scheme", str(tmp_path.parent / "shop-worker")),
    }


def test_the_scheme_for_an_organisation_and_without_an_owner(tmp_path: Path) -> None:
    (tmp_path / "scoot.toml").write_text("[repositories]\norganisation = true\ndrop_prefix = true\n", encoding="utf-8")
    loaded = load(tmp_path)
    with Sources(loaded, loaded.target(None), architecture(owner=None)) as sources:
        assert Path(sources.located["worker"].repository.name).name == "worker"  # type: ignore[union-attr]
    (tmp_path / "plain").mkdir()
    plain = load(tmp_path / "plain")
    with Sources(plain, plain.target(None), architecture(owner=None)) as sources:
        problem = sources.located["worker"].problem
        assert problem is not None and "without an owner" in problem and "`source`" in problem
        assert sources.fetch()["worker"].problem == problem


def test_fetching_keeps_each_problem_with_its_component(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    loaded = load(tmp_path)
    with Sources(loaded, loaded.target(None), architecture()) as sources:
        fetched = sources.fetch()
    assert sorted(fetched) == ["api", "shared", "worker"]  # `data` runs nothing
    with Sources(loaded, loaded.target(None), architecture()) as sources:
        # The architecture's own repository first; `data` has no code.
        assert list(sources.exists()) == [ARCHITECTURE, "api", "shared", "worker"]
    assert fetched["api"].fetched is not None and fetched["api"].fetched.path == tmp_path / "api"
    worker = fetched["worker"].problem
    assert worker is not None and "shop-worker" in worker and "naming scheme" in worker
    assert "scoot repos create" in worker and "`source`" in worker


def test_pins(tmp_path: Path) -> None:
    assert parse_pins(["api=v1", "worker=3f2a9c1"]) == {"api": "v1", "worker": "3f2a9c1"}
    for bad, says in [("api", "COMPONENT=REVISION"), ("api=-x", "not a branch"), ("=v1", "COMPONENT=REVISION")]:
        with pytest.raises(ScootError, match=says):
            parse_pins([bad])
    with pytest.raises(ScootError, match="given twice"):
        parse_pins(["api=a", "api=b"])
    loaded = load(tmp_path)
    with Sources(loaded, loaded.target(None), architecture()) as sources:
        with pytest.raises(ScootError, match=r"no component `apx` \(did you mean `api`\?\)"):
            sources.fetch({"apx": "v1"})
        with pytest.raises(ScootError, match="`data` has no compute objects"):
            sources.fetch({"data": "v1"})


# -- the commands -------------------------------------------------------------------------------

APP = """\
application shop {{
  owner = "acme"
}}

component api {{
  {where}
  compute web {{
    command = [{python}, "-c", "pass"]
  }}
}}
"""


def app(folder: Path, where: str) -> Path:
    folder.mkdir(parents=True)
    text = APP.format(where=where, python=json.dumps(sys.executable))
    (folder / "architecture.sct").write_text(text, encoding="utf-8")
    return folder


def test_a_missing_repository_is_a_plan_error_naming_it(tmp_path: Path) -> None:
    root = app(tmp_path / "shop", "")
    result = scoot("plan", str(root))
    assert result.exit_code == 1
    assert "api.web (source)" in result.output and "shop-api" in result.output
    assert "scoot repos create" in result.output


def test_repos_lists_and_creates(tmp_path: Path) -> None:
    root = app(tmp_path / "shop", "")
    listed = scoot("repos", str(root))
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["COMPONENT", "REPOSITORY", "DRIVER", "EXISTS", "LATEST"]
    # The architecture's own repository, acme/shop by the scheme: this folder (`base` is `..`).
    assert lines[1].split()[:4] == ["(architecture)", str(root), "path", "yes"]
    assert lines[2].split()[:4] == ["api", str(tmp_path / "shop-api"), "path", "no"]
    assert "1 repository missing" in listed.output

    created = scoot("repos", "create", str(root))
    assert created.exit_code == 0, created.output
    assert (tmp_path / "shop-api").is_dir()
    assert "created" in created.output
    assert "nothing to create" in scoot("repos", "create", str(root)).output

    rows = json.loads(scoot("repos", "list", "--json", str(root)).output)["repositories"]
    assert [(r["component"], r["architecture"], r["driver"], r["exists"]) for r in rows] == [
        (None, True, "path", True),
        ("api", False, "path", True),
    ]
    assert rows[1]["latest"] == folder_revision(tmp_path / "shop-api").removeprefix("sha256:")[:12]


def test_repos_creates_the_architectures_repository_too(tmp_path: Path) -> None:
    root = app(tmp_path / "shop", "")
    (root / "scoot.toml").write_text('[repositories]\nbase = "../repos"\n', encoding="utf-8")
    listed = scoot("repos", str(root))
    assert "2 repositories missing" in listed.output, listed.output
    created = scoot("repos", "create", str(root))
    assert created.exit_code == 0, created.output
    assert f"+ (architecture): created {tmp_path / 'repos' / 'shop'} (path)" in created.output
    assert (tmp_path / "repos" / "shop").is_dir() and (tmp_path / "repos" / "shop-api").is_dir()

    # In its own organisation, the architecture's repository is {application}/architecture.
    (root / "scoot.toml").write_text('[repositories]\nbase = "../repos"\norganisation = true\n', encoding="utf-8")
    rows = json.loads(scoot("repos", "--json", str(root)).output)["repositories"]
    assert [(r["architecture"], r["repository"], r["exists"]) for r in rows] == [
        (True, str(tmp_path / "repos" / "architecture"), False),
        (False, str(tmp_path / "repos" / "shop-api"), True),
    ]


def test_the_architecture_from_scoot_toml_by_the_naming_scheme(tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    app(repos / "shop", "")  # the architecture's repository: acme/shop by the scheme
    (repos / "shop-api").mkdir()  # the component's: acme/shop-api
    deploy = tmp_path / "deploy" / "shop"  # the folder's name is the application's, for the scheme
    deploy.mkdir(parents=True)
    settings = '[architecture]\nfrom = "scheme"\n\n[repositories]\nowner = "acme"\nbase = "../../repos"\n'
    (deploy / "scoot.toml").write_text(settings, encoding="utf-8")

    planned = scoot("plan", str(deploy))
    assert planned.exit_code == 0, planned.output
    assert f"Architecture from {repos / 'shop'} at revision" in planned.output
    assert "+ api.web (compute) will be created" in planned.output
    # `base` is relative to scoot.toml's folder, not to the architecture's (which is elsewhere).
    rows = json.loads(scoot("repos", "--json", str(deploy)).stdout)["repositories"]
    assert [(r["architecture"], r["repository"], r["exists"]) for r in rows] == [
        (True, str(repos / "shop"), True),
        (False, str(repos / "shop-api"), True),
    ]

    # The command line wins over scoot.toml.
    other = app(tmp_path / "other", 'source = "./api"')
    (other / "api").mkdir()
    chosen = scoot("plan", "--from", str(other), str(deploy))
    assert chosen.exit_code == 0, chosen.output
    assert f"Architecture from {other} at revision" in chosen.output

    # The scheme needs an owner before the architecture (which names one) is read.
    (deploy / "scoot.toml").write_text('[architecture]\nfrom = "scheme"\n', encoding="utf-8")
    ownerless = scoot("plan", str(deploy))
    assert ownerless.exit_code == 1
    assert "[architecture] `from`" in ownerless.output and "set `owner` in [repositories]" in ownerless.output
    missing = scoot("plan", "--from", "scheme", str(tmp_path / "other"))
    assert missing.exit_code == 1 and "set `owner` in [repositories]" in missing.output


def test_what_goes_by_scoot_lock_does_not_need_the_architecture_repository(tmp_path: Path) -> None:
    # An architecture repository that cannot be fetched (the network is down, it was
    # moved): status, refresh and destroy go by scoot.lock, saying why; plan refuses.
    repos = tmp_path / "repos"
    (repos / "shop").mkdir(parents=True)
    (repos / "shop" / "architecture.sct").write_text(
        'application shop {}\ncomponent data {\n  storage files { engine = "directory" }\n}\n',
        encoding="utf-8",
    )
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "scoot.toml").write_text(f'[architecture]\nfrom = "{repos / "shop"}"\n', encoding="utf-8")
    applied = scoot("apply", "--yes", str(deploy))
    assert applied.exit_code == 0, applied.output
    assert len(json.loads(scoot("status", "--json", str(deploy)).stdout)["objects"]) == 1
    (repos / "shop").rename(repos / "gone")

    planned = scoot("plan", str(deploy))
    assert planned.exit_code == 1 and "gone" not in planned.output and str(repos / "shop") in planned.output
    for command in (["status"], ["refresh"], ["destroy", "--yes"]):
        result = scoot(*command, str(deploy))
        assert result.exit_code == 0, result.output
        assert "The architecture cannot be fetched: " in result.output
        assert f"{command[0]} goes by what scoot.lock records" in result.output
    status = scoot("status", "--json", str(deploy))
    assert json.loads(status.stdout)["objects"] == []


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ("[repositories]\ndrop_prefix = true\n", r"\[repositories\]: `drop_prefix = true` applies only with `organisation = true`"),
        ("[repositories]\norganisation = true\nowner = \"acme\"\n", r"`owner` does not apply with `organisation = true`"),
        ("[architecture]\npath = \".\"\nfrom = \"acme/shop\"\n", r"\[architecture\] `from` and `path` are both set"),
        ("[architecture]\nfrom = 3\n", r"\[architecture\] `from` must be a string"),
        ("[architecture]\nform = \"acme/shop\"\n", r"unknown key `form`.*did you mean `from`\?"),
    ],
)
def test_settings_that_cannot_apply_are_refused(tmp_path: Path, settings: str, says: str) -> None:
    (tmp_path / "scoot.toml").write_text(settings, encoding="utf-8")
    with pytest.raises(SettingsError, match=says) as raised:
        load(tmp_path)
    assert str(tmp_path / "scoot.toml") in str(raised.value)


def test_a_targets_repositories_are_checked_with_what_they_inherit(tmp_path: Path) -> None:
    (tmp_path / "scoot.toml").write_text(
        '[repositories]\norganisation = true\ndrop_prefix = true\n\n'
        '[targets.solo]\n[targets.solo.repositories]\norganisation = false\n\n'
        '[targets.org]\n[targets.org.repositories]\ndrop_prefix = false\n',
        encoding="utf-8",
    )
    loaded = load(tmp_path)
    with pytest.raises(SettingsError, match=r"\[targets.solo.repositories\]: `drop_prefix = true` applies only"):
        loaded.repositories_for(loaded.target("solo"))
    assert loaded.repositories_for(loaded.target("org")).organisation
    # An owner is not inherited by a target that makes the application its own organisation.
    (tmp_path / "scoot.toml").write_text(
        '[repositories]\nowner = "acme"\n\n[targets.org]\n[targets.org.repositories]\norganisation = true\n',
        encoding="utf-8",
    )
    loaded = load(tmp_path)
    assert loaded.repositories_for(loaded.target("org")).owner is None


def test_counts_of_repositories_read_as_english() -> None:
    from scoot_cli.output import counted

    assert [counted(n, "repository", "repositories") for n in (1, 2)] == ["1 repository", "2 repositories"]
    assert [counted(n, "object") for n in (1, 2)] == ["1 object", "2 objects"]


def test_a_bad_revision_option_is_a_usage_error(tmp_path: Path) -> None:
    root = app(tmp_path / "shop", 'source = "./api"')
    (root / "api").mkdir()
    result = scoot("plan", "--revision", "apx=v1", str(root))
    assert result.exit_code == 1 and "did you mean `api`?" in result.output
    assert scoot("plan", "--revision", "api", str(root)).exit_code == 2


def test_plan_from_a_folder(tmp_path: Path) -> None:
    architecture = app(tmp_path / "architecture", 'source = "./api"')
    (architecture / "api").mkdir()
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    result = scoot("plan", "--from", str(architecture), str(deploy))
    assert result.exit_code == 0, result.output
    assert "+ api.web (compute) will be created" in result.output
    ambiguous = scoot("plan", "--from", "nobody", str(deploy))
    assert ambiguous.exit_code == 1 and "give a git URL, a folder" in ambiguous.output


def test_a_file_name_that_is_not_utf8_is_part_of_a_folders_revision(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "plain.txt").write_text("a")
    before = folder_revision(folder)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 named")
    after = folder_revision(folder)
    assert after.startswith("sha256:") and after != before
