"""FastAPI dependencies of the web app, as `Annotated` aliases over what `create_app` put on app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from sync.settings import Settings
from sync.web.intake import WebhookIntake, body_within_limit


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _intake(request: Request) -> WebhookIntake:
    intake: WebhookIntake = request.app.state.intake
    return intake


def _registry(request: Request) -> CollectorRegistry:
    registry: CollectorRegistry = request.app.state.registry
    return registry


AppSettings = Annotated[Settings, Depends(_settings)]
StoreEngine = Annotated[Engine, Depends(_engine)]
Intake = Annotated[WebhookIntake, Depends(_intake)]
MetricsRegistry = Annotated[CollectorRegistry, Depends(_registry)]
Body = Annotated[bytes, Depends(body_within_limit)]
