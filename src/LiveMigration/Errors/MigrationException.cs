namespace LiveMigration.Errors;

/// <summary>The base of every error the migration engine raises on purpose.</summary>
public class MigrationException : Exception
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationException(string message, Exception innerException) : base(message, innerException) { }
}
