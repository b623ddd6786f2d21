namespace LiveMigration.Errors;

/// <summary>The migration stream ended before a record was complete.</summary>
public sealed class MigrationStreamTruncatedException : MigrationStreamException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationStreamTruncatedException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationStreamTruncatedException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationStreamTruncatedException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates an error for a stream that ended at <paramref name="offset"/>.</summary>
    public MigrationStreamTruncatedException(string message, long offset) : base(message, offset) { }
}
