"""Shared fixtures: small hand-made exports whose every cell is known."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CONTRACT = REPO.parent / "shared" / "contract"


def case_rows() -> pd.DataFrame:
    """Three valid case rows with English headers, every cell as an export would hold it."""
    return pd.DataFrame(
        {
            "case_id": ["(2023)湘0103执1号", "(2023)湘0103执2号", "(2022)湘0103执9号"],
            "court_id": ["C01", "C01", "C02"],
            "team_id": ["C01-T1", "C01-T2", "C02-T1"],
            "handler_id": ["H001", "H002", "H010"],
            "previous_handler_ids": ["", "H003", "H011;H012"],
            "filing_date": ["2023-01-05", "2023/2/7", "2022年3月9日"],
            "as_of_date": ["2024-03-01", "2024-03-01", "2024-03-01"],
            "cause_category": ["private_lending", "labor_remuneration", "credit_card"],
            "is_livelihood": ["否", "是", "N"],
            "amount_outstanding": ["12000", "3,500.5", "880000"],
            "debtor_type": ["natural_person", "private_company", "natural_person"],
            "debtor_status": ["active", "dormant", ""],
            "has_real_estate": ["true", "1", "0"],
            "n_handlers_so_far": ["1", "2", "3"],
            "days_since_last_action": ["200", "95", "400"],
            "petition_count": ["0", "2", ""],
        }
    )


@pytest.fixture
def cases_frame() -> pd.DataFrame:
    return case_rows()


@pytest.fixture
def handlers_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "handler_id": ["H001", "H002", "H010"],
            "team_id": ["C01-T1", "C01-T2", "C02-T1"],
            "court_id": ["C01", "C01", "C02"],
            "open_slots": ["2", "0", "5"],
            "is_leader": ["否", "是", ""],
        }
    )


def sample_audit(model_dir: Path, out: Path) -> Path:
    """A real fairness audit of ``model_dir`` on the sample history, as the CLI writes it.

    Fewer bootstrap draws than the default keep it quick; the summary is what reports show.
    """
    from crossexec_ml.evaluate import audit_saved, write_audit
    from crossexec_ml.settings import FairnessSettings

    sample = REPO / "data" / "sample"
    audit = audit_saved(
        model_dir,
        sample / "history.csv",
        truth_path=sample / "truth.csv",
        settings=FairnessSettings(n_boot=50),
    )
    return write_audit(audit, out)


@pytest.fixture(scope="module")
def dask_client():
    """A Dask client on an in-process two-worker cluster, one per test module.

    In-process workers keep the tests quick; the CLI's default cluster uses processes.
    """
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
