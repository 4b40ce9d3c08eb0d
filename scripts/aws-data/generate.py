#!/usr/bin/env python3
"""Regenerates config/aws-data/instance-types.json: the instance classes and types AWS offers, which the
config loader checks airflow:dbInstanceClass, airflow:brokerNodeType, airflow:mlInstanceType and
airflow:mlTransformInstanceType against.

Run it with the project's Python environment (it reads botocore from there):

    .venv/bin/python scripts/aws-data/generate.py

Sources, each recorded in the output with its version:
  - SageMaker training and transform instance types: the TrainingInstanceType and TransformInstanceType
    enums of botocore's SageMaker service model (the API's own list), from the pinned botocore of .venv.
  - RDS for PostgreSQL instance classes per region, and per PostgreSQL major version: the tables that
    cfn-lint (the AWS CloudFormation linter, maintained by AWS) generates from the AWS Price List API
    (schemas/extensions/aws_rds_dbinstance/dbinstanceclass_enum.json, by region and engine) and from
    RDS's orderable options (db_instance_class.json, by engine version). The wheel is fetched with pip
    from PyPI at the pinned version below; nothing is installed. botocore's RDS model has no enum of
    classes.
  - ElastiCache node types per region: cfn-lint's table of the same origin
    (schemas/extensions/aws_elasticache_cachecluster/cachenodetype_enum.json).

Bump CFN_LINT_VERSION (and re-run) to pick up new classes; the tests name the file's date.
"""

import datetime
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import botocore
import botocore.session

CFN_LINT_VERSION = "1.58.0"
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "config" / "aws-data" / "instance-types.json"
POSTGRES_MAJORS = ["13", "14", "15", "16", "17"]
EXT = "cfnlint/data/schemas/extensions"
PIP_PYTHON = shutil.which("python3") or sys.executable


def cfn_lint_tables() -> tuple[dict, dict, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            # The project's .venv has no pip (uv made it); any Python's pip downloads a wheel.
            [PIP_PYTHON, "-m", "pip", "download", f"cfn-lint=={CFN_LINT_VERSION}", "--no-deps", "-q", "-d", tmp],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("cfn_lint-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            read = lambda name: json.loads(z.read(f"{EXT}/{name}"))  # noqa: E731
            return (
                read("aws_rds_dbinstance/dbinstanceclass_enum.json"),
                read("aws_rds_dbinstance/db_instance_class.json"),
                read("aws_elasticache_cachecluster/cachenodetype_enum.json"),
            )


def engine_of(rule: dict) -> str | None:
    return rule["if"]["properties"].get("Engine", {}).get("const")


def main() -> None:
    by_region, by_version, cache = cfn_lint_tables()
    rds_regions = {}
    for region, schema in sorted(by_region.items()):
        if not isinstance(schema, dict):
            continue  # e.g. "description"
        classes: set[str] = set()
        for rule in schema["allOf"]:
            if engine_of(rule) == "postgres":
                classes |= set(rule["then"]["properties"]["DBInstanceClass"]["enum"])
        if classes:
            rds_regions[region] = sorted(classes)
    rds_majors = {}
    for major in POSTGRES_MAJORS:
        classes = set()
        for rule in by_version["allOf"]:
            version = rule["if"]["properties"].get("EngineVersion", {}).get("pattern", "")
            if (
                engine_of(rule) == "postgres"
                and re.match(rf"^\^\({major}\\\.\d", version)
                and "limitless" not in version
            ):
                classes |= set(rule["then"]["properties"]["DBInstanceClass"].get("enum", []))
        rds_majors[major] = sorted(classes - {"db.serverless"})
    cache_regions = {r: sorted(s["enum"]) for r, s in sorted(cache.items()) if isinstance(s, dict) and "enum" in s}

    model = botocore.session.get_session().get_service_model("sagemaker")
    sagemaker = {
        "training": sorted(model.shape_for("TrainingInstanceType").enum),
        "transform": sorted(model.shape_for("TransformInstanceType").enum),
    }

    data = {
        "generated": datetime.date.today().isoformat(),
        "generator": "scripts/aws-data/generate.py",
        "sources": {
            "sagemaker": (
                f"botocore {botocore.__version__}, SageMaker service model {model.api_version}: "
                "shapes TrainingInstanceType, TransformInstanceType"
            ),
            "rdsPostgres": (
                f"cfn-lint {CFN_LINT_VERSION} (PyPI), {EXT}/aws_rds_dbinstance/dbinstanceclass_enum.json "
                "(AWS Price List API, engine postgres, by region) and db_instance_class.json (by engine version)"
            ),
            "elasticache": (
                f"cfn-lint {CFN_LINT_VERSION} (PyPI), {EXT}/aws_elasticache_cachecluster/cachenodetype_enum.json "
                "(AWS Price List API, by region)"
            ),
        },
        "sagemaker": sagemaker,
        "rdsPostgres": {"byRegion": rds_regions, "byMajorVersion": rds_majors},
        "elasticache": {"byRegion": cache_regions},
    }
    # One line per list: small diffs when AWS adds a class, and a file a reader can scan.
    lines = ["{"]

    def emit(key: str, value, indent: str, last: bool) -> None:
        comma = "" if last else ","
        if isinstance(value, dict) and value and all(isinstance(v, (dict, list)) for v in value.values()):
            lines.append(f"{indent}{json.dumps(key)}: {{")
            items = list(value.items())
            for i, (k, v) in enumerate(items):
                emit(k, v, indent + "  ", i == len(items) - 1)
            lines.append(f"{indent}}}{comma}")
        else:
            lines.append(f"{indent}{json.dumps(key)}: {json.dumps(value)}{comma}")

    items = list(data.items())
    for i, (k, v) in enumerate(items):
        emit(k, v, "  ", i == len(items) - 1)
    lines.append("}")
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(
        f"wrote {OUTPUT.relative_to(ROOT)}: {len(sagemaker['training'])} training and "
        f"{len(sagemaker['transform'])} transform types, "
        f"RDS PostgreSQL classes in {len(rds_regions)} regions, ElastiCache node types in {len(cache_regions)} regions"
    )


if __name__ == "__main__":
    main()
