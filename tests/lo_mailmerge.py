"""LibreOffice's own mail merge of a Word document with a CSV file, run headless over UNO.

Run it with the system Python that has LibreOffice's `uno` module (Debian: python3-uno), not the project's
virtual environment:

    /usr/bin/python3 tests/lo_mailmerge.py PIPE TEMPLATE.docx DATA.csv OUTDIR

PIPE names the pipe a headless soffice was started to accept (`--accept=pipe,name=PIPE;urp;`); the caller
starts soffice and kills it. DATA.csv is read by LibreOffice's text-file database driver (sdbc:flat:,
Debian: libreoffice-base-drivers): `;` between fields, every value in double quotes, UTF-8, the first line
naming the columns (the MERGEFIELD names). The merge is the `com.sun.star.text.MailMerge` service, the engine
of Tools > Mail Merge Wizard; it writes one Word file into OUTDIR with the form once per CSV row.

Quoting every value matters: the driver guesses a column's type from its unquoted values, and a column it
takes for dates is printed in LibreOffice's own short date format (11/21/26), not as the CSV has it. The
CSV source is used through a connection, not registered under a name: registering needs it saved as a Base
document (.odb), which needs libreoffice-base, which on Debian replaces the headless LibreOffice core.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import uno
from com.sun.star.beans import NamedValue, PropertyValue
from com.sun.star.connection import NoConnectException

FILE = 2  # com.sun.star.text.MailMergeType.FILE
TABLE = 0  # com.sun.star.sdb.CommandType.TABLE


def connect(pipe: str, timeout: float = 120.0):
    """The component context of the soffice listening on PIPE, waiting for it to start."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _values(cls, **values):
    return tuple(cls(Name=name, Value=value) for name, value in values.items())


def csv_connection(ctx, csv: Path):
    """A database connection to the folder holding CSV; the file is its table, named by the file's stem."""
    databases = ctx.ServiceManager.createInstanceWithContext("com.sun.star.sdb.DatabaseContext", ctx)
    source = databases.createInstance()
    source.URL = "sdbc:flat:" + csv.parent.as_uri()
    source.Info = _values(
        PropertyValue,
        Extension="csv",
        HeaderLine=True,
        FieldDelimiter=";",
        StringDelimiter='"',
        CharSet="UTF-8",
    )
    return source.getConnection("", "")


def _rows(ctx, connection, table: str):
    rows = ctx.ServiceManager.createInstanceWithContext("com.sun.star.sdb.RowSet", ctx)
    rows.ActiveConnection = connection
    rows.CommandType = TABLE
    rows.Command = table
    rows.execute()
    return rows


def merge(ctx, template: Path, csv: Path, outdir: Path) -> None:
    """Merge TEMPLATE with every row of CSV into one Word file in OUTDIR."""
    connection = csv_connection(ctx, csv)
    try:
        mail_merge = ctx.ServiceManager.createInstanceWithContext("com.sun.star.text.MailMerge", ctx)
        mail_merge.execute(
            _values(
                NamedValue,
                DocumentURL=template.as_uri(),
                DataSourceName=csv.stem,  # a label only: the rows come from the connection
                ActiveConnection=connection,
                ResultSet=_rows(ctx, connection, csv.stem),
                Command=csv.stem,
                CommandType=TABLE,
                OutputType=FILE,
                OutputURL=outdir.as_uri(),
                FileNamePrefix="merged",
                SaveAsSingleFile=True,
                SaveFilter="MS Word 2007 XML",
            )
        )
    finally:
        connection.close()


def main(pipe: str, template: str, csv: str, outdir: str) -> None:
    out = Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    merge(connect(pipe), Path(template).resolve(), Path(csv).resolve(), out)


if __name__ == "__main__":
    main(*sys.argv[1:])
