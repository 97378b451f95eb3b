"""
Loaded by moto_server (PYTHONPATH set by tests/support/moto.ts). Fixes a moto bug; fakes nothing.

moto 5.2.1: StartExecution deep-copies the state machine (`copy.deepcopy(state_machine)`) and with it the
state machine's `backend` and `executions`, which hold every RUNNING execution's threads and locks. So any
StartExecution while another execution runs fails with "cannot pickle '_thread.RLock' object" (HTTP 500);
on AWS, executions run side by side (nested workflows, several rotations). The fix: the snapshot copies the
definition and settings, and shares `backend` and `executions` (references, as the original does).
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


_share_backend_on_deepcopy()
