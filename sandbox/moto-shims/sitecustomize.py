"""
Loaded by moto_server (PYTHONPATH set by sandbox/moto.ts). Fixes two moto bugs; fakes nothing.

1. moto 5.2.1: StartExecution deep-copies the state machine (`copy.deepcopy(state_machine)`) and with it the
state machine's `backend` and `executions`, which hold every RUNNING execution's threads and locks. So any
StartExecution while another execution runs fails with "cannot pickle '_thread.RLock' object" (HTTP 500);
on AWS, executions run side by side (nested workflows, several rotations). The fix: the snapshot copies the
definition and settings, and shares `backend` and `executions` (references, as the original does).

2. moto 5.2.1: SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat look for the token in every execution
and dereference `execution.exec_worker.env`, which is None while an execution is being started or torn
down. With many executions side by side (a fleet of confirmations) that race answers HTTP 500
("'NoneType' object has no attribute 'callback_pool_manager'"). The fix: those lookups skip executions
that have no interpreter environment (they hold no task token).

3. moto 5.2.1: TransactWriteItems deep-copies every table it touches as a backup and, when a condition fails,
puts that copy back, without any lock. A PutItem/UpdateItem arriving meanwhile (a thread of moto_server) either
breaks the copy (HTTP 500, "dictionary changed size during iteration") or is silently undone by the restore.
DynamoDB serializes a transaction against other writes to its items. The fix: moto's write operations run one
at a time (a lock around transact_write_items, put_item, update_item, delete_item).
"""
import copy


def _share_backend_on_deepcopy() -> None:
    try:
        from moto.stepfunctions import models
    except Exception:  # moto without Step Functions: nothing to fix
        return

    def __deepcopy__(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for key, value in vars(self).items():
            setattr(clone, key, value if key in ("backend", "executions") else copy.deepcopy(value, memo))
        return clone

    models.StateMachine.__deepcopy__ = __deepcopy__


def _skip_executions_without_environment() -> None:
    try:
        from moto.stepfunctions.parser import models
    except Exception:
        return
    original = models.StepFunctionsParserBackend._get_executions

    def _get_executions(self, execution_status=None):
        return [e for e in original(self, execution_status) if getattr(getattr(e, "exec_worker", None), "env", None) is not None]

    models.StepFunctionsParserBackend._get_executions = _get_executions


def _serialize_dynamodb_writes() -> None:
    try:
        from moto.dynamodb import models
    except Exception:
        return
    import functools
    import threading

    lock = threading.RLock()

    def locked(original):
        @functools.wraps(original)
        def run(self, *args, **kwargs):
            with lock:
                return original(self, *args, **kwargs)

        return run

    for name in ("transact_write_items", "put_item", "update_item", "delete_item"):
        original = getattr(models.DynamoDBBackend, name, None)
        if original is not None:
            setattr(models.DynamoDBBackend, name, locked(original))


_share_backend_on_deepcopy()
_skip_executions_without_environment()
_serialize_dynamodb_writes()
