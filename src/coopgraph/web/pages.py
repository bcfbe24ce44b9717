"""Router for pages (to be written)."""

from fastapi import APIRouter

router = APIRouter()
