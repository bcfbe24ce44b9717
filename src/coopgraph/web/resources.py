"""Router for resources (to be written)."""

from fastapi import APIRouter

router = APIRouter()
