"""The instance-type table the config loader checks against (config/aws-data/instance-types.json) holds
what the pinned botocore says SageMaker offers: regenerate it (scripts/aws-data/generate.py) when the
lock moves botocore."""

import json
import re
from pathlib import Path

import botocore
import botocore.session

ROOT = Path(__file__).resolve().parents[2]
DATA = json.loads((ROOT / "config" / "aws-data" / "instance-types.json").read_text())


def test_sagemaker_instance_types_match_the_pinned_botocore_model():
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert DATA["sagemaker"]["training"] == sorted(model.shape_for("TrainingInstanceType").enum)
    assert DATA["sagemaker"]["transform"] == sorted(model.shape_for("TransformInstanceType").enum)
    assert f"botocore {botocore.__version__}," in DATA["sources"]["sagemaker"]


def test_the_table_has_every_region_of_the_committed_stacks_and_a_date():
    assert DATA["generated"][:2] == "20"
    regions = {re.search(r"aws:region: (\S+)", f.read_text()).group(1) for f in ROOT.glob("Pulumi.*.yaml")}
    assert regions
    for region in regions:
        assert "db.t4g.micro" in DATA["rdsPostgres"]["byRegion"][region]
        assert "cache.t4g.micro" in DATA["elasticache"]["byRegion"][region]
