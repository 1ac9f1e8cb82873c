"""tasks: a small Flask + MongoDB service for to-do tasks.

Environment:
  MONGO_URI         MongoDB URI (default mongodb://mongo:27017/tasks); its
                    database part names the database (default "tasks")
  PORT              TCP port (default 5000)
  HOST              address to bind (default 0.0.0.0)
  MONGO_TIMEOUT_MS  how long a request waits for MongoDB (default 2000)

Endpoints (JSON in, JSON out):
  GET    /health       {"status": "ok", "service": "tasks"}; never touches MongoDB
  GET    /tasks        list, newest first (?done=true|false, ?limit=N, 1..1000, default 100)
  POST   /tasks        {"title": str, "owner": str (optional)} -> 201 with the stored task
  GET    /tasks/<id>   one task, or 404
  PATCH  /tasks/<id>   {"done": bool} and/or {"title": str} -> the updated task, or 404
Bad input answers 400; when MongoDB cannot be reached the data endpoints
answer 503 {"error": "database_unavailable", ...}.

Run: python3 app.py (Flask's built-in server on HOST:PORT), or in production
gunicorn --workers 2 app:app (gunicorn binds 0.0.0.0:$PORT when PORT is set).
"""

import functools
import os
import signal
import sys
import threading
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

SERVICE = "tasks"
COLLECTION = "tasks"
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://mongo:27017/" + SERVICE)
MONGO_TIMEOUT_MS = int(os.environ.get("MONGO_TIMEOUT_MS", "2000"))
MAX_LIMIT = 1000

app = Flask(__name__)
# keep {"status": "ok", "service": ...} in this order
if hasattr(app, "json") and hasattr(app.json, "sort_keys"):  # Flask >= 2.2
    app.json.sort_keys = False
else:
    app.config["JSON_SORT_KEYS"] = False

_client = None
_client_lock = threading.Lock()


def collection():
    """The MongoDB collection; the client is made on first use, lazily.

    pymongo is imported here, not at module level, and the client is created
    with connect=False: /health and startup never need the driver or a
    reachable database.
    """
    global _client
    with _client_lock:
        if _client is None:
            from pymongo import MongoClient

            _client = MongoClient(
                MONGO_URI,
                connect=False,
                serverSelectionTimeoutMS=MONGO_TIMEOUT_MS,
                connectTimeoutMS=MONGO_TIMEOUT_MS,
                socketTimeoutMS=max(MONGO_TIMEOUT_MS, 5000),
            )
    return _client.get_default_database(default=SERVICE)[COLLECTION]


def error(status, code, message):
    return jsonify({"error": code, "message": message}), status


def uses_db(fn):
    """Turn driver errors (no server, bad URI, ...) into 503 JSON answers."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HTTPException:
            raise
        except ImportError as e:
            return error(503, "database_unavailable", "MongoDB driver missing: %s" % e)
        except Exception as e:  # pymongo is imported lazily, so test the type here
            try:
                from pymongo.errors import PyMongoError
            except ImportError:
                raise e
            if isinstance(e, PyMongoError):  # details go to the log only
                app.logger.warning("MongoDB error: %s: %s", type(e).__name__, e)
                return error(503, "database_unavailable", "MongoDB is unavailable (%s)" % type(e).__name__)
            raise

    return wrapper


def object_id(text):
    """The ObjectId for a path id, or None when it is not a valid one."""
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        return None


def to_json(doc):
    out = {}
    for key, value in doc.items():
        if key == "_id":
            out["id"] = str(value)
        elif isinstance(value, datetime):
            if value.tzinfo is None:  # MongoDB returns naive UTC datetimes
                value = value.replace(tzinfo=timezone.utc)
            out[key] = value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        else:
            out[key] = value
    return out


def utc_now():
    """Now, in milliseconds: what MongoDB keeps of a datetime."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def json_body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    return body


def list_limit():
    raw = request.args.get("limit", "100")
    try:
        limit = int(raw)
    except ValueError:
        return None
    return limit if 1 <= limit <= MAX_LIMIT else None


@app.errorhandler(HTTPException)
def http_error(e):
    return error(e.code, e.name.lower().replace(" ", "_"), e.description)


@app.errorhandler(Exception)
def internal_error(e):
    app.logger.exception("unhandled error")
    return error(500, "internal_error", "internal server error")


@app.get("/health")
def health():
    return jsonify({"status": "ok", "service": SERVICE})


# ---- tasks -----------------------------------------------------------------


def validate_title(title):
    return isinstance(title, str) and title.strip() != "" and len(title) <= 500


@app.get("/tasks")
@uses_db
def list_tasks():
    limit = list_limit()
    if limit is None:
        return error(400, "bad_request", "'limit' must be an integer in 1..%d" % MAX_LIMIT)
    query = {}
    done = request.args.get("done")
    if done is not None:
        if done not in ("true", "false"):
            return error(400, "bad_request", "'done' must be true or false")
        query["done"] = done == "true"
    docs = collection().find(query).sort("_id", -1).limit(limit)
    return jsonify([to_json(d) for d in docs])


@app.post("/tasks")
@uses_db
def create_task():
    body = json_body()
    if body is None:
        return error(400, "bad_request", "body must be a JSON object")
    if not validate_title(body.get("title")):
        return error(400, "bad_request", "'title' must be a non-empty string of at most 500 characters")
    owner = body.get("owner")
    if owner is not None and (not isinstance(owner, str) or len(owner) > 200):
        return error(400, "bad_request", "'owner' must be a string of at most 200 characters")
    doc = {"title": body["title"].strip(), "owner": owner, "done": False, "created_at": utc_now()}
    doc["_id"] = collection().insert_one(doc).inserted_id
    return jsonify(to_json(doc)), 201


@app.get("/tasks/<task_id>")
@uses_db
def get_task(task_id):
    oid = object_id(task_id)
    doc = collection().find_one({"_id": oid}) if oid else None
    if doc is None:
        return error(404, "not_found", "no task %s" % task_id)
    return jsonify(to_json(doc))


@app.patch("/tasks/<task_id>")
@uses_db
def update_task(task_id):
    body = json_body()
    if body is None:
        return error(400, "bad_request", "body must be a JSON object")
    changes = {}
    if "done" in body:
        if not isinstance(body["done"], bool):
            return error(400, "bad_request", "'done' must be true or false")
        changes["done"] = body["done"]
    if "title" in body:
        if not validate_title(body["title"]):
            return error(400, "bad_request", "'title' must be a non-empty string of at most 500 characters")
        changes["title"] = body["title"].strip()
    if not changes:
        return error(400, "bad_request", "give 'done' and/or 'title'")
    oid = object_id(task_id)
    from pymongo import ReturnDocument

    doc = collection().find_one_and_update({"_id": oid}, {"$set": changes}, return_document=ReturnDocument.AFTER) if oid else None
    if doc is None:
        return error(404, "not_found", "no task %s" % task_id)
    return jsonify(to_json(doc))


def main():
    # As PID 1 in a container SIGTERM has no default action: exit on it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
