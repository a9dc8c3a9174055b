"""The `queue` kind: what an architecture may write of a queue, and what it exposes."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from scoot_model.objects import Output, Ref, SctObject


class Queue(SctObject):
    """A queue of messages kept in a folder, one file per message."""

    kind: Literal["queue"] = "queue"
    max_messages: Annotated[int, Field(ge=1, le=1_000_000)] | Ref = Field(
        default=1000, description="The most messages the queue holds; one more is refused."
    )

    kind_name: ClassVar[str] = "queue"
    kind_description: ClassVar[str] = "A queue of messages kept in a folder, one file per message."
    outputs: ClassVar[dict[str, Output]] = {
        "path": Output(
            type="string", description="The folder holding the queue's messages.", local=True
        ),
    }
