"""A chaincode on a channel: evaluate and submit its transaction functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .proposal import Argument, Proposal

if TYPE_CHECKING:
    from ._context import Context
    from .commit import Commit

__all__ = ["Contract"]


class Contract:
    """Transaction functions of one chaincode on one channel.

    Obtained from :meth:`Network.get_contract`. Arguments are ``str`` (sent as UTF-8) or
    ``bytes``; results are the ``bytes`` the function returned.
    """

    def __init__(self, context: Context, channel: str, chaincode: str) -> None:
        self._context = context
        self.channel = channel
        self.chaincode = chaincode

    def new_proposal(
        self,
        name: str,
        *,
        arguments: Sequence[Argument] = (),
        transient: Mapping[str, bytes] | None = None,
        endorsing_orgs: Sequence[str] = (),
    ) -> Proposal:
        """Return a signed proposal, to run the transaction step by step.

        ``proposal.endorse()`` -> ``transaction.submit()`` -> ``commit.status()``: each step
        can be retried on its own after a failure, keeping the same transaction id.

        Parameters
        ----------
        name : str
            Transaction function.
        arguments : sequence of str or bytes, default ()
            Function arguments.
        transient : mapping of str to bytes, optional
            Private inputs, read by the contract with ``GetTransient``; they reach the
            endorsing peers only and are never written to the ledger.
        endorsing_orgs : sequence of str, default ()
            MSP ids of the only organisations to ask for endorsement (or evaluation); empty
            lets the gateway choose from the endorsement policy. Set it with ``transient``
            so private inputs go only to the organisations meant to see them.
        """
        return Proposal(
            self._context,
            channel=self.channel,
            chaincode=self.chaincode,
            name=name,
            arguments=arguments,
            transient=transient,
            endorsing_orgs=endorsing_orgs,
        )

    def evaluate_transaction(self, name: str, *args: Argument) -> bytes:
        """Run a transaction function on one peer without recording it; return its result.

        Raises
        ------
        GatewayError
            If the peer or the chaincode refused.
        """
        return self.new_proposal(name, arguments=args).evaluate()

    def evaluate(
        self,
        name: str,
        *,
        arguments: Sequence[Argument] = (),
        transient: Mapping[str, bytes] | None = None,
        target_orgs: Sequence[str] = (),
    ) -> bytes:
        """Like :meth:`evaluate_transaction` with transient data and chosen organisations.

        ``target_orgs`` restricts which organisations' peers may run the evaluation.
        """
        proposal = self.new_proposal(
            name, arguments=arguments, transient=transient, endorsing_orgs=target_orgs
        )
        return proposal.evaluate()

    def submit_transaction(self, name: str, *args: Argument) -> bytes:
        """Endorse, order and commit a transaction; return its result once it is valid.

        Raises
        ------
        EndorseError, SubmitError, CommitStatusError
            If the step named failed (``details`` holds what each peer said).
        CommitError
            If the transaction was ordered but marked invalid (``code``).
        """
        return self.submit(name, arguments=args)

    def submit(
        self,
        name: str,
        *,
        arguments: Sequence[Argument] = (),
        transient: Mapping[str, bytes] | None = None,
        endorsing_orgs: Sequence[str] = (),
    ) -> bytes:
        """Like :meth:`submit_transaction` with transient data and chosen endorsers.

        See :meth:`new_proposal` for the options.
        """
        commit = self.submit_async(
            name, arguments=arguments, transient=transient, endorsing_orgs=endorsing_orgs
        )
        commit.status().raise_for_status()
        return commit.result

    def submit_async(
        self,
        name: str,
        *,
        arguments: Sequence[Argument] = (),
        transient: Mapping[str, bytes] | None = None,
        endorsing_orgs: Sequence[str] = (),
    ) -> Commit:
        """Endorse and order a transaction without waiting for the commit.

        Returns
        -------
        Commit
            ``.result`` is available at once; ``.status()`` waits for the commit.
        """
        proposal = self.new_proposal(
            name, arguments=arguments, transient=transient, endorsing_orgs=endorsing_orgs
        )
        return proposal.endorse().submit()
