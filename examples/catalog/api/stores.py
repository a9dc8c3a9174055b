"""Where the catalog keeps things, from the URL its storage reports.

    PRODUCTS_URL  dynamodb://<table>   a DynamoDB table (partition key `id`), on AWS
                  sqlite:///<path>     a SQLite file, on this machine
    PICTURES_URL  s3://<bucket>        an S3 bucket, on AWS
                  file:///<path>       a folder, on this machine

boto3 is imported only for the AWS stores (requirements.txt installs it on the
instances); the local ones use the standard library alone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit


class Products(Protocol):
    def put(self, product_id: str, product: dict[str, Any]) -> None: ...
    def get(self, product_id: str) -> dict[str, Any] | None: ...
    def all(self) -> list[dict[str, Any]]: ...


class Pictures(Protocol):
    def put(self, name: str, data: bytes) -> None: ...
    def get(self, name: str) -> bytes | None: ...


def products(url: str) -> Products:
    parts = urlsplit(url)
    if parts.scheme == "dynamodb":
        return DynamoProducts(parts.netloc)
    if parts.scheme == "sqlite":
        return SqliteProducts(Path(unquote(parts.path)))
    raise SystemExit(f"PRODUCTS_URL: expected dynamodb:// or sqlite://, not {url!r}")


def pictures(url: str) -> Pictures:
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Pictures(parts.netloc)
    if parts.scheme == "file":
        return FolderPictures(Path(unquote(parts.path)))
    raise SystemExit(f"PICTURES_URL: expected s3:// or file://, not {url!r}")


class SqliteProducts:
    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, check_same_thread=False)
        self.lock = threading.Lock()
        with self.lock, self.connection:
            self.connection.execute("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, item TEXT NOT NULL)")

    def put(self, product_id: str, product: dict[str, Any]) -> None:
        with self.lock, self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO items (id, item) VALUES (?, ?)", (product_id, json.dumps(product))
            )

    def get(self, product_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.connection.execute("SELECT item FROM items WHERE id = ?", (product_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.connection.execute("SELECT item FROM items ORDER BY id").fetchall()
        return [json.loads(row[0]) for row in rows]


class DynamoProducts:
    def __init__(self, table: str) -> None:
        import boto3  # only on AWS

        self.table = boto3.resource("dynamodb").Table(table)

    def put(self, product_id: str, product: dict[str, Any]) -> None:
        self.table.put_item(Item={"id": product_id, "item": json.dumps(product)})

    def get(self, product_id: str) -> dict[str, Any] | None:
        found = self.table.get_item(Key={"id": product_id}).get("Item")
        return None if found is None else dict(json.loads(found["item"]))

    def all(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {}
        while True:
            page = self.table.scan(**arguments)
            items += [json.loads(i["item"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda i: str(i.get("id")))
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class FolderPictures:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, data: bytes) -> None:
        (self.folder / name).write_bytes(data)

    def get(self, name: str) -> bytes | None:
        path = self.folder / name
        return path.read_bytes() if path.is_file() else None


class S3Pictures:
    def __init__(self, bucket: str) -> None:
        import boto3  # only on AWS

        self.s3 = boto3.client("s3")
        self.bucket = bucket

    def put(self, name: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=name, Body=data)

    def get(self, name: str) -> bytes | None:
        try:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=name)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None
