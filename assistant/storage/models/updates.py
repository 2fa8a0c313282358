"""The updates a channel's webhook received, by id only (never their content): claimed by
the bridge that handles one, so that several bridges, and the channel's own retries,
handle each update once (assistant/services/update_claims.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from assistant.storage.db import UTCDateTime, utcnow
from assistant.storage.models.columns import utc_time


class ChannelUpdate(SQLModel, table=True):
    __tablename__ = "channel_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_channel_updates"),
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    channel: str = Field(max_length=16)
    update_id: int = Field(sa_type=BigInteger, nullable=False)  # the channel's own id
    holder: str = Field(max_length=32)  # the claim of the bridge handling it
    leased_until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    done_at: datetime | None = utc_time()  # handled: a retry is answered at once
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                  nullable=False, index=True)  # old ones are pruned
