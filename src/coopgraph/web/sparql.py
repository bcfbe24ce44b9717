"""Router for sparql (to be written)."""

from fastapi import APIRouter

router = APIRouter()
