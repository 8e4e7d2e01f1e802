"""The deployment files under deploy/ load with Dagster's own config validation (no cluster,
no server needed): the PostgreSQL instance, the Kubernetes instance with its K8sRunLauncher,
the Helm values' code location, and the Definitions with the Kubernetes executor."""

import importlib
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PG_VARIABLES = {
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "secret",
    "DAGSTER_PG_HOST": "db.example.org",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
}


def instance_ref(yaml_file: Path, home: Path):
    """The instance that file describes as $DAGSTER_HOME/dagster.yaml, as Dagster reads it
    (schema-checked), without starting any of its parts."""
    from dagster._core.instance.ref import InstanceRef

    shutil.copy(yaml_file, home / "dagster.yaml")
    return InstanceRef.from_dir(str(home))


def class_config_errors(data) -> list[str]:
    """A configurable part (storage, run launcher ...) checked against its class's schema."""
    from dagster._config import process_config
    from dagster._serdes.config_class import class_from_code_pointer

    klass = class_from_code_pointer(data.module_name, data.class_name)
    result = process_config(klass.config_type(), data.config_dict)
    return [error.message for error in result.errors or []]


@pytest.mark.parametrize("variant", ["postgres", "k8s"])
def test_instance_files_pass_dagsters_validation(variant, tmp_path, monkeypatch):
    for name, value in PG_VARIABLES.items():
        monkeypatch.setenv(name, value)
    ref = instance_ref(DEPLOY / variant / "dagster.yaml", tmp_path)
    storage = ref.storage_data
    assert (storage.module_name, storage.class_name) == (
        "dagster_postgres",
        "DagsterPostgresStorage",
    )
    parts = [storage, ref.run_coordinator_data, ref.run_launcher_data]
    assert {p.class_name: class_config_errors(p) for p in parts} == {
        p.class_name: [] for p in parts
    }
    launcher = (ref.run_launcher_data.module_name, ref.run_launcher_data.class_name)
    expected = (
        ("dagster_k8s", "K8sRunLauncher") if variant == "k8s" else ("dagster", "DefaultRunLauncher")
    )
    assert launcher == expected


def test_a_broken_launcher_section_would_be_caught():
    from dagster._serdes.config_class import ConfigurableClassData

    section = yaml.safe_load((DEPLOY / "k8s" / "dagster.yaml").read_text())["run_launcher"]
    del section["config"]["service_account_name"]
    section["config"]["no_such_option"] = 1
    data = ConfigurableClassData(section["module"], section["class"], yaml.dump(section["config"]))
    errors = class_config_errors(data)
    assert any("no_such_option" in e for e in errors)
    assert any("service_account_name" in e for e in errors)


def test_helm_values_serve_this_code_location():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert module == "assets.definitions" and importlib.import_module(module).defs
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["UNITYLV_EXECUTOR"] == "k8s"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    mounts = {
        m["mountPath"] for m in values["runLauncher"]["config"]["k8sRunLauncher"]["volumeMounts"]
    }
    assert env["UNITYLV_WORK"] in mounts  # the run's and steps' pods share the work area


def test_definitions_load_with_the_kubernetes_and_dask_executors():
    import dagster as dg

    from assets.definitions import build_definitions

    for executor, name in (("k8s", "k8s"), ("dask", "dask"), ("in_process", "in_process")):
        defs = build_definitions(executor=executor, address="tcp://127.0.0.1:8786")
        dg.Definitions.validate_loadable(defs)
        assert defs.resolve_job_def("derive").executor_def.name == name
        # The evaluation's one step keeps its value in memory: it stays in-process.
        assert defs.resolve_job_def("evaluate").executor_def.name == "in_process"
