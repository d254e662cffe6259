"""Interactive apps for leaders: the workspace, the case picker and their decision form."""

from crossexec_ml.apps._decision import BUTTONS, USER_ENVS, DecisionForm, beijing_time, proxy_user
from crossexec_ml.apps._followup_view import (
    FollowUpSection,
    RunFollowUpView,
    read_run_followup,
)
from crossexec_ml.apps._picker import MODEL_PLACES, TEXT, CasePicker, find_model
from crossexec_ml.apps._server import VOILA_JUPYTER_PATH, BoundedKernelManager
from crossexec_ml.apps._workspace import ALL, PAGE_SIZE, Workspace, open_workspace
from crossexec_ml.apps._workspace_data import (
    AMOUNT_BANDS,
    CHANGES,
    LIST_COLUMNS,
    ListFilter,
    ListIndex,
    WorkspaceData,
    answer_of,
    case_list,
    list_changes,
    pending_escalations,
    previous_scored,
    read_ledger,
    read_workspace,
    trend,
)

__all__ = [
    "ALL",
    "AMOUNT_BANDS",
    "BUTTONS",
    "BoundedKernelManager",
    "CHANGES",
    "CasePicker",
    "DecisionForm",
    "FollowUpSection",
    "LIST_COLUMNS",
    "ListFilter",
    "ListIndex",
    "MODEL_PLACES",
    "PAGE_SIZE",
    "RunFollowUpView",
    "TEXT",
    "USER_ENVS",
    "VOILA_JUPYTER_PATH",
    "Workspace",
    "WorkspaceData",
    "answer_of",
    "beijing_time",
    "case_list",
    "find_model",
    "list_changes",
    "open_workspace",
    "pending_escalations",
    "previous_scored",
    "proxy_user",
    "read_ledger",
    "read_run_followup",
    "read_workspace",
    "trend",
]
