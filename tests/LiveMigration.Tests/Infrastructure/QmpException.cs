namespace LiveMigration.Tests.Infrastructure;

/// <summary>A QMP command failed, or QEMU said something a QMP client cannot take.</summary>
internal sealed class QmpException(string command, string message)
    : Exception($"QMP {command} failed: {message}");
