"""The state of the WorkflowGen simulator and the rules WorkflowGen applies to each operation.

:class:`WorkflowGenState` is the only writer of the state; every change goes through one of its methods, which tell
the listeners (:meth:`~sandbox.kit.SimulatorState.emit`), so that outgoing notifications need nothing of the HTTP layer.
"""

from __future__ import annotations

from sandbox.control import Clock
from sandbox.kit import SimulatorState
from sandbox.workflowgen.model import (
    CLOSED,
    SEED_OPENED_AT,
    SUB_ABORTED,
    SUB_CANCELLED,
    SUB_COMPLETED,
    Action,
    ActionDefinition,
    DataType,
    DataValue,
    FileValue,
    Process,
    User,
    WfRequest,
    bad_input,
    forbidden,
    not_found,
    to_global_id,
)


class WorkflowGenState(SimulatorState):
    """Users, processes and requests, with the rules WorkflowGen applies to each operation."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.users: dict[int, User] = {}
        self.processes: list[Process] = []
        self.requests: dict[int, WfRequest] = {}
        self.reset()

    # -- seed --------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Put back the seed. Listeners survive: they are wiring, not state."""
        approval = ActionDefinition(
            name="APPROVAL",
            participants=("wfgen_admin", "jdoe"),
            default_assignee="wfgen_admin",
            description="Approve the expense claim",
            limit_s=3 * 24 * 3600.0,  # stand-in: a three-day deadline, so that Action.limit has a value
        )
        expense = Process(
            id=1,
            name="EXPENSE_CLAIM",
            version=1,
            description="Expense claim",
            data={
                "AMOUNT": DataType.NUMERIC,
                "REASON": DataType.TEXT,
                "DUE": DataType.DATETIME,
                "RECEIPT": DataType.FILE,
            },
            first_action=approval,
        )
        fill_form = ActionDefinition(
            name="FILL_FORM",
            participants=("wfgen_admin", "jdoe"),
            default_assignee="wfgen_admin",
            description="Fill in the purchase request form",
            web_form=True,
        )
        # A process whose first action is a web form (EFORMASPX): its fields map to the data of the same names.
        purchase = Process(
            id=2,
            name="PURCHASE_REQUEST",
            version=1,
            description="Purchase request",
            data={
                "FORM_DATA": DataType.FILE,
                "REQUEST_AMOUNT": DataType.NUMERIC,
                "REQUEST_REASON": DataType.TEXT,
                "REQUEST_DATE": DataType.DATETIME,
            },
            first_action=fill_form,
        )
        self.users = {1: User(1, "wfgen_admin", is_admin=True), 2: User(2, "jdoe")}
        self.processes = [expense, purchase]
        receipt = b"%PDF-1.4 sandbox receipt"
        request = WfRequest(number=1, process=expense, requester_id=2, opened_at=SEED_OPENED_AT)
        request.dataset = self._empty_dataset(expense)
        for value in (
            DataValue("AMOUNT", DataType.NUMERIC, 125.5),
            DataValue("REASON", DataType.TEXT, "Client lunch"),
            DataValue("DUE", DataType.DATETIME, "2024-01-31T00:00:00.000Z"),
            DataValue(
                "RECEIPT",
                DataType.FILE,
                FileValue("receipt.pdf", "application/pdf", len(receipt), "Restaurant receipt", content=receipt),
            ),
        ):
            request.dataset[value.name] = value
        request.actions.append(
            Action(request_number=1, number=1, definition=approval, opened_at=SEED_OPENED_AT, assignee_id=1)
        )
        self.requests = {1: request}

    @staticmethod
    def _empty_dataset(process: Process) -> dict[str, DataValue]:
        # Every process data is listed on a request, set or not, as WorkflowGen's dataset does.
        return {name: DataValue(name, data_type) for name, data_type in process.data.items()}

    # -- look-ups ----------------------------------------------------------------------------------------------

    def user_by_name(self, user_name: str) -> User:
        for user in self.users.values():
            if user.user_name == user_name:
                return user
        raise not_found(f"user {user_name!r} does not exist")

    def user_by_id(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise not_found(f"user {to_global_id('User', user_id)!r} does not exist")
        return user

    def process(self, name: str, version: int | None = None) -> Process:
        """A process by name; without a version, its latest one."""
        candidates = [p for p in self.processes if p.name == name]
        if not candidates:
            raise not_found(f"process {name!r} does not exist")
        if version is None:
            return max(candidates, key=lambda p: p.version)
        for process in candidates:
            if process.version == version:
                return process
        raise not_found(f"process {name!r} has no version {version}")

    def request(self, number: int) -> WfRequest:
        request = self.requests.get(number)
        if request is None:
            raise not_found(f"request {number} does not exist")
        return request

    def action(self, request_number: int, number: int) -> Action:
        request = self.request(request_number)
        for action in request.actions:
            if action.number == number:
                return action
        raise not_found(f"action {number} of request {request_number} does not exist")

    def can_see(self, viewer: User, request: WfRequest) -> bool:
        """Administrators see everything; others see requests they launched or hold an action of."""
        return (
            viewer.is_admin
            or request.requester_id == viewer.id
            or any(action.assignee_id == viewer.id for action in request.actions)
        )

    # -- rights ------------------------------------------------------------------------------------------------

    @staticmethod
    def _require_assignee_or_admin(actor: User, action: Action, verb: str) -> None:
        if not actor.is_admin and action.assignee_id != actor.id:
            raise forbidden(f"Security error: user {actor.user_name!r} has no right to {verb} {action.label()}")

    @staticmethod
    def _require_open_action(action: Action) -> None:
        if not action.is_open:
            raise bad_input(f"{action.label()} is not open (status {action.sub_status})")

    @staticmethod
    def _require_open_request(request: WfRequest) -> None:
        if not request.is_open:
            raise bad_input(f"request {request.number} is not open (status {request.sub_status})")

    # -- writes ------------------------------------------------------------------------------------------------

    def create_request(self, process: Process, requester: User, values: list[DataValue], is_test: bool) -> WfRequest:
        """Launch ``process``: a new request with its first action open and given to the default assignee."""
        now = self.clock.now()
        number = max(self.requests, default=0) + 1
        request = WfRequest(number=number, process=process, requester_id=requester.id, opened_at=now, is_test=is_test)
        request.dataset = self._empty_dataset(process)
        for value in values:
            request.dataset[value.name] = value
        definition = process.first_action
        assignee = self.user_by_name(definition.default_assignee) if definition.default_assignee else None
        action = Action(
            request_number=number,
            number=1,
            definition=definition,
            opened_at=now,
            assignee_id=assignee.id if assignee else None,
        )
        request.actions.append(action)
        self.requests[number] = request
        self.emit("request.created", requestNumber=number, processName=process.name)
        self.emit("action.created", requestNumber=number, actionNumber=action.number, name=action.name)
        return request

    def update_dataset(self, request: WfRequest, values: list[DataValue]) -> None:
        self._require_open_request(request)
        for value in values:
            request.dataset[value.name] = value
        self.emit("request.updated", requestNumber=request.number, names=[v.name for v in values])

    def cancel_request(self, request: WfRequest, actor: User) -> None:
        """Cancel an open request and its open actions; the requester or an administrator may."""
        if not actor.is_admin and request.requester_id != actor.id:
            raise forbidden(f"Security error: user {actor.user_name!r} has no right to cancel request {request.number}")
        self._require_open_request(request)
        now = self.clock.now()
        for action in request.actions:
            if action.is_open:
                self._close_action(action, SUB_CANCELLED, now)
        self._close_request(request, SUB_CANCELLED, now)

    def complete_action(self, action: Action, actor: User, values: list[DataValue]) -> None:
        """Complete an open action, writing its parameters into the dataset; the workflow then ends."""
        self._require_assignee_or_admin(actor, action, "complete")
        self._require_open_action(action)
        request = self.request(action.request_number)
        for value in values:
            request.dataset[value.name] = value
        now = self.clock.now()
        self._close_action(action, SUB_COMPLETED, now)
        # The seed process has a single action whose outgoing transition leads to the end node.
        self._close_request(request, SUB_COMPLETED, now)

    def cancel_action(self, action: Action, actor: User, kind: str, exception: dict[str, str | None] | None) -> None:
        """Cancel (type CANCEL) or abort (type ERROR) an open action through its cancel or exception transition."""
        self._require_assignee_or_admin(actor, action, "cancel")
        self._require_open_action(action)
        if kind == "CANCEL" and not action.definition.cancel_transition:
            raise bad_input(f"{action.label()} has no cancel transition")
        if kind == "ERROR" and not action.definition.exception_transition:
            raise bad_input(f"{action.label()} has no default exception transition")
        action.exception = exception
        sub_status = SUB_CANCELLED if kind == "CANCEL" else SUB_ABORTED
        now = self.clock.now()
        self._close_action(action, sub_status, now)
        # stand-in: the seed process's cancel and exception transitions lead to the end node.
        self._close_request(self.request(action.request_number), sub_status, now)

    def assign_action(self, action: Action, actor: User, assignee: User) -> None:
        self._require_assignee_or_admin(actor, action, "assign")
        self._require_open_action(action)
        if assignee.user_name not in action.definition.participants:
            raise bad_input(f"user {assignee.user_name!r} is not a participant of action {action.name!r}")
        action.assignee_id = assignee.id
        action.updated_at = self.clock.now()
        self.emit(
            "action.assigned",
            requestNumber=action.request_number,
            actionNumber=action.number,
            assignee=assignee.user_name,
        )

    def cancel_action_assignment(self, action: Action) -> None:
        self._require_open_action(action)
        if action.assignee_id is None:
            raise bad_input(f"{action.label()} is not assigned")
        action.assignee_id = None
        action.updated_at = self.clock.now()
        self.emit("action.unassigned", requestNumber=action.request_number, actionNumber=action.number)

    def _close_action(self, action: Action, sub_status: str, now: float) -> None:
        action.status, action.sub_status, action.closed_at, action.updated_at = CLOSED, sub_status, now, now
        self.emit(
            "action.closed", requestNumber=action.request_number, actionNumber=action.number, subStatus=sub_status
        )

    def _close_request(self, request: WfRequest, sub_status: str, now: float) -> None:
        request.status, request.sub_status, request.closed_at = CLOSED, sub_status, now
        self.emit("request.closed", requestNumber=request.number, subStatus=sub_status)
