"""Contract checks: plain functions that raise ContractViolation naming the clause they guard.

One module per noun: ``answers`` (any answer, the error envelope, auth and isolation),
``deletes``, ``tasks`` (task object, lifecycle, create) and ``listing``; callers use the
names re-exported here (``from conformance import checks; checks.delete_is_refused(...)``).
"""

from __future__ import annotations

from conformance.checks.answers import (
    answer_is_not_a_server_error,
    answer_is_unauthorized,
    error_answer_has_envelope,
    foreign_access_is_refused,
    reproduce_line,
)
from conformance.checks.deletes import (
    answer_says_task_is_gone,
    delete_answer_is_204_without_body,
    delete_is_refused,
    malformed_id_answer_is_client_error,
    refusal_code_is_task_cannot_be_deleted,
    second_delete_is_not_accepted,
    unknown_id_answer_is_not_found,
)
from conformance.checks.listing import (
    filtered_list_leaves_out,
    filtered_list_shows_every_match,
    list_answer_is_well_formed,
    list_body,
    list_does_not_show,
    list_items_are_sorted,
    list_items_carry_video_id,
    list_items_match,
    oversized_page_limit_is_refused_or_clamped,
    page_boundary_holds,
    page_info_totals_agree,
    page_number_is_the_one_asked,
    page_past_the_end_is_empty,
    page_two_shift,
    pages_partition_the_set,
    unreadable_items,
)
from conformance.checks.tasks import (
    FINAL_STATUSES,
    HLS_STATUSES,
    LIFECYCLE_RANK,
    MAX_PAGE_LIMIT,
    REQUIRED_TASK_FIELDS,
    TASK_STATUSES,
    create_answer_is_ok,
    create_is_rejected,
    created_task_is_retrievable,
    retrieve_answer_is_task,
    status_read_later_follows,
    statuses_move_forward,
    task_is_unchanged,
    task_object_is_well_formed,
    task_timestamps_are_ordered,
)

__all__ = [
    "FINAL_STATUSES", "HLS_STATUSES", "LIFECYCLE_RANK",
    "MAX_PAGE_LIMIT", "REQUIRED_TASK_FIELDS", "TASK_STATUSES",
    "answer_is_not_a_server_error", "answer_is_unauthorized", "answer_says_task_is_gone",
    "create_answer_is_ok", "create_is_rejected", "created_task_is_retrievable",
    "delete_answer_is_204_without_body",
    "delete_is_refused", "error_answer_has_envelope", "filtered_list_leaves_out",
    "filtered_list_shows_every_match", "foreign_access_is_refused",
    "list_answer_is_well_formed", "list_body", "list_does_not_show", "list_items_are_sorted",
    "list_items_carry_video_id", "list_items_match", "malformed_id_answer_is_client_error",
    "oversized_page_limit_is_refused_or_clamped", "page_boundary_holds",
    "page_info_totals_agree", "page_number_is_the_one_asked", "page_past_the_end_is_empty",
    "page_two_shift", "pages_partition_the_set", "refusal_code_is_task_cannot_be_deleted",
    "reproduce_line",
    "retrieve_answer_is_task", "second_delete_is_not_accepted",
    "status_read_later_follows", "statuses_move_forward",
    "task_is_unchanged", "task_object_is_well_formed", "task_timestamps_are_ordered",
    "unknown_id_answer_is_not_found", "unreadable_items",
]
