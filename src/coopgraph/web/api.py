"""Router for api (to be written)."""

from fastapi import APIRouter

router = APIRouter()
